"""`/maxim card` and card-style daily posts on Slack, before Slack uploads cards.

Until the adapter learns to upload a card, a card request is answered with the text form and
one short note (`CARD_LATER`), through the same preview flow as text: the buttons carry "as a
card", so Shuffle keeps it a card and Send shares it (as text, for now). End to end through
the real slack-bolt and slack_sdk against the loopback fake, as in test_listeners.py.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import pytest

from bot.daily.scheduler import post_key
from bot.platforms.slack.poster import SlackPoster
from bot.preview import ACTION_POST, ACTION_SHUFFLE, CARD_LATER, Preview
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import CORPUS, Bot, make_service, settings_for
from tests.bot.platforms.slack.test_poster import production_client


@pytest.fixture
def make_bot(fake, storage):
    def build(**slack: Any) -> Bot:
        return Bot(fake, settings_for(fake, **slack), make_service(storage))

    return build


def buttons(message: dict[str, Any]) -> dict[str, str]:
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["text"]["text"]: e["value"] for e in actions["elements"]}


def texts(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


async def test_a_card_is_a_private_text_preview_that_says_cards_are_coming(make_bot):
    bot = make_bot()

    answer = await bot.command("card 3")

    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == f"Preview. Maxim 3: {CORPUS.get(3).text}"
    assert CARD_LATER in texts(answer)
    assert list(buttons(answer)) == ["Send", "Cancel"]
    assert Preview.decode(buttons(answer)["Send"], CORPUS) == Preview(
        CORPUS.get(3), "number", card=True
    )
    assert bot.fake.calls_to("chat.postMessage") == []
    text_answer = await bot.command("3")
    assert CARD_LATER not in texts(text_answer)


async def test_shuffle_keeps_a_card_a_card(make_bot):
    bot = make_bot()
    first = await bot.command("card search dropout")

    await bot.click(ACTION_SHUFFLE, buttons(first)["Shuffle"])

    [(_, shuffled)] = bot.fake.responses
    assert "Maxim 5" in shuffled["text"]
    assert "result 2 of 2 for “dropout”" in texts(shuffled)
    assert CARD_LATER in texts(shuffled)
    following = Preview.decode(buttons(shuffled)["Send"], CORPUS)
    assert (following.position, following.card) == (1, True)


async def test_send_shares_the_text_for_now_without_the_private_note(make_bot):
    bot = make_bot()
    value = buttons(await bot.command("card 3"))["Send"]

    await bot.click(ACTION_POST, value, user="U7")

    [post] = bot.fake.calls_to("chat.postMessage")
    assert post.body["channel"] == "C1"
    assert post.body["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    assert "shared by <@U7>" in texts(post.body["blocks"])
    assert CARD_LATER not in texts(post.body)


async def test_without_a_preview_a_card_is_the_text_in_the_channel_with_the_note(make_bot):
    bot = make_bot(preview=False)

    answer = await bot.command("card 3")

    assert answer["response_type"] == "in_channel"
    assert answer["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    assert CARD_LATER in texts(answer)


@pytest.mark.parametrize("form", ["71", "4.2", "search quaternion"])
async def test_a_card_of_nothing_gets_the_text_forms_private_error(make_bot, form):
    bot = make_bot()
    assert await bot.command(f"card {form}") == await bot.command(form)


async def test_a_card_style_daily_post_is_the_text_and_one_info_line(fake, caplog):
    caplog.set_level(logging.INFO, logger="bot.poster")
    poster = SlackPoster(production_client(fake))
    maxim = load_corpus().get(34)
    day = dt.date(2026, 11, 28)

    await poster.post("C1", maxim, key=post_key("slack", "C1", day), style="card")
    await poster.post("C1", maxim, key=post_key("slack", "C1", day + dt.timedelta(1)))

    card, text = fake.calls_to("chat.postMessage")
    assert card.body["text"] == text.body["text"] == f"Maxim of the day. Maxim 34: {maxim.text}"
    assert card.body["blocks"] == text.body["blocks"]
    assert card.body["metadata"]["event_payload"]["key"] == post_key("slack", "C1", day)
    assert [r.getMessage() for r in caplog.records if r.name == "bot.poster"] == [
        "daily posts as cards come later on slack: posting the text"
    ]
