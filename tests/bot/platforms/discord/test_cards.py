"""`/maxim card` and card-style daily posts on Discord, before Discord attaches cards.

Until the adapter learns to attach a card, a card request is answered with the text form and
one short note (`CARD_LATER`) through the same preview flow as text: the buttons carry "as a
card", so Another keeps it a card and Post shares it (as text, for now). The real discord.py
client against the loopback Discord, as in test_handlers_buttons.py.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.daily.scheduler import post_key
from bot.preview import CARD_LATER, Preview
from maxims import load_corpus
from tests.bot.platforms.discord.helpers import (
    HandledMessages,
    client_of,
    custom_ids,
    maxim_number,
    run_command,
)
from tests.bot.platforms.discord.test_handlers_buttons import press

CORPUS = load_corpus()


def preview_in(custom_id: str) -> Preview | None:
    """The preview a button's custom id carries (``action:user:preview``)."""
    return Preview.decode(custom_id.split(":", 2)[2], CORPUS)


async def test_a_card_is_a_private_text_preview_that_says_cards_are_coming(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card 34"})

    assert callback.ephemeral
    assert callback.data is not None
    [embed] = callback.data["embeds"]
    assert embed["title"] == "#34"
    assert embed["description"] == CORPUS.get(34).text
    assert embed["footer"]["text"] == f"nan, learning-rate, debugging · {CARD_LATER}"
    assert callback.data.get("attachments") in (None, [])  # no file, yet
    post, cancel = custom_ids(callback)
    assert preview_in(post) == Preview(CORPUS.get(34), "number", card=True)
    assert cancel.startswith("maxim_cancel:")
    text = await run_command(fake, client_of(bot), "maxim", {"query": "34"})
    assert text.data is not None
    assert CARD_LATER not in text.data["embeds"][0]["footer"]["text"]


async def test_another_keeps_a_card_a_card(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card search nan"})
    again = await press(fake, custom_ids(callback)[1])

    assert again.type == 7 and again.data is not None
    [embed] = again.data["embeds"]
    assert "result 2 of 3 for “nan”" in embed["footer"]["text"]
    assert CARD_LATER in embed["footer"]["text"]
    following = preview_in(custom_ids(again)[0])
    assert following is not None
    assert (following.position, following.card) == (1, True)
    assert maxim_number(embed) == following.maxim.number


async def test_post_shares_the_text_for_now_without_the_private_note(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card 34"})
    await press(fake, custom_ids(callback)[0])
    [shared] = await fake.wait_for_messages(1)

    assert shared.content == f"shared by <@{fake.default_user_id}>"
    assert shared.embeds[0]["title"] == "#34"
    assert shared.embeds[0]["description"] == CORPUS.get(34).text
    assert CARD_LATER not in str(shared.embeds)
    assert shared.allowed_mentions == {"parse": []}


async def test_a_card_of_nothing_gets_the_text_forms_private_error(fake, bot):
    card = await run_command(fake, client_of(bot), "maxim", {"query": "card 71"})
    text = await run_command(fake, client_of(bot), "maxim", {"query": "71"})
    assert card.ephemeral
    assert card.content == text.content
    assert card.content == "⚠️ There’s no maxim 71: pick 1–70, or try `/maxim search <word>`."


async def test_a_card_style_daily_post_is_the_text_and_one_info_line(fake, bot, caplog):
    caplog.set_level(logging.INFO, logger="bot.poster")
    handled = HandledMessages(client_of(bot))
    channel = str(fake.default_channel_id)
    day = dt.date(2026, 11, 28)

    card_id = await bot.poster.post(
        channel, CORPUS.get(34), key=post_key("discord", channel, day), style="card"
    )
    text_id = await bot.poster.post(
        channel, CORPUS.get(34), key=post_key("discord", channel, day + dt.timedelta(1))
    )
    await handled.wait(int(card_id), int(text_id))

    card, text = fake.messages
    assert card.embeds[0]["description"] == text.embeds[0]["description"] == CORPUS.get(34).text
    assert card.embeds[0]["title"] == "Maxim of the day · #34"
    assert [r.getMessage() for r in caplog.records if r.name == "bot.poster"] == [
        "daily posts as cards come later on discord: posting the text"
    ]
