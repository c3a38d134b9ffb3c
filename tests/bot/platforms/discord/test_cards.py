"""`/maxim card` on Discord: the card as a PNG attachment, shown by the embed's image.

The preview flow is the one of text (Post / Another, only for the asker); the card travels as
``maxim-34.png`` with its alt text as the file's description, and the embed shows it with
``attachment://maxim-34.png``. Without Attach Files, or when Discord refuses the file (413),
the text form goes out once with a one-line note. The real discord.py client against the
loopback Discord; the bytes that arrive are compared with `render_card`'s.
"""

from __future__ import annotations

import logging
import re

import pytest

from bot.cards import alt_text, render_card
from bot.platforms.discord.uploads import NO_ATTACH_FILES, UPLOAD_FAILED
from bot.preview import Preview
from maxims import Maxim, load_corpus
from tests.bot.platforms.discord.helpers import (
    client_of,
    custom_ids,
    make_service,
    maxim_number,
    run_command,
    running,
    settings_for,
)
from tests.bot.platforms.discord.test_handlers_buttons import press
from tests.bot.platforms.discord.test_user_install import USER_INSTALL, post_and_wait
from tests.fakes.discord.api import DEFAULT_BOT_PERMISSIONS, FakeDiscord, RecordedAttachment
from tests.helpers import run_python

CORPUS = load_corpus()
CHANNEL_MESSAGES = re.compile(r"^/channels/\d+/messages$")


def preview_in(custom_id: str) -> Preview | None:
    """The preview a button's custom id carries (``action:user:preview``)."""
    return Preview.decode(custom_id.split(":", 2)[2], CORPUS)


def assert_card(attachments: list[RecordedAttachment], maxim: Maxim) -> None:
    """Exactly the maxim's card arrived: its name, its alt text and its very bytes."""
    [card] = attachments
    assert card.filename == f"maxim-{maxim.number}.png"
    assert card.description == alt_text(maxim)
    assert card.data == render_card(maxim, "light")
    assert (card.content_type, card.width, card.height) == ("image/png", 1200, 630)


def assert_card_embed(embed: dict[str, object], maxim: Maxim) -> None:
    assert embed["image"] == {"url": f"attachment://maxim-{maxim.number}.png"}
    assert "description" not in embed  # the picture shows the text; its alt text tells it
    assert maxim_number(embed) == maxim.number  # type: ignore[arg-type]


def card_uploads_to_channels(fake: FakeDiscord) -> list[str]:
    """Every channel message the bot tried to send with a file, answered or not."""
    return [
        r.path
        for r in fake.requests
        if r.method == "POST" and CHANNEL_MESSAGES.match(r.path) and r.files
    ]


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    found = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert all(r.exc_info is None for r in found)  # one line each, never a traceback
    return [r.getMessage() for r in found]


async def test_a_card_preview_carries_the_png_shown_by_its_embed(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card 34"})

    assert callback.ephemeral and callback.data is not None
    [embed] = callback.data["embeds"]
    assert_card_embed(embed, CORPUS.get(34))
    assert embed["footer"]["text"] == "nan, learning-rate, debugging"  # no "cards later"
    assert_card(callback.attachments, CORPUS.get(34))
    post, cancel = custom_ids(callback)
    assert preview_in(post) == Preview(CORPUS.get(34), "number", card=True)
    assert cancel.startswith("maxim_cancel:")


@pytest.mark.parametrize("query", ["card", "card today", "card search nan"])
async def test_every_card_query_previews_a_card(fake, bot, query):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": query})
    assert callback.data is not None
    [embed] = callback.data["embeds"]
    maxim = CORPUS.get(maxim_number(embed))
    assert maxim is not None
    assert_card_embed(embed, maxim)
    assert_card(callback.attachments, maxim)


async def test_another_replaces_the_card_with_the_next_one(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card search nan"})
    again = await press(fake, custom_ids(callback)[1])

    assert again.type == 7 and again.data is not None
    [embed] = again.data["embeds"]
    following = preview_in(custom_ids(again)[0])
    assert following is not None and (following.position, following.card) == (1, True)
    assert "result 2 of 3 for “nan”" in embed["footer"]["text"]
    assert_card_embed(embed, following.maxim)
    assert_card(again.attachments, following.maxim)
    shown = fake.get_message(callback.message_id or 0)
    assert shown is not None  # the preview, edited: the new card alone, not added to the old
    assert [a["filename"] for a in shown["attachments"]] == [f"maxim-{following.maxim.number}.png"]


async def test_post_shares_the_card_in_the_channel_and_removes_the_preview(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card 34"})
    await press(fake, custom_ids(callback)[0])
    [shared] = await fake.wait_for_messages(1)
    await fake.wait_for(lambda: fake.get_message(callback.message_id or 0) is None)

    assert shared.channel_id == fake.default_channel_id
    assert shared.content == f"shared by <@{fake.default_user_id}>"
    assert shared.allowed_mentions == {"parse": []}
    assert_card_embed(shared.embeds[0], CORPUS.get(34))
    assert_card(shared.attachments, CORPUS.get(34))


async def test_without_attach_files_the_preview_and_the_post_are_text_with_a_note(
    fake, bot, caplog
):
    fake.deny_attach_files(fake.default_channel_id)
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card 34"})
    assert callback.ephemeral and callback.data is not None
    assert callback.content == NO_ATTACH_FILES
    assert callback.data["embeds"][0]["description"] == CORPUS.get(34).text
    assert callback.attachments == []

    await press(fake, custom_ids(callback)[0])
    [shared] = await fake.wait_for_messages(1)
    await fake.wait_for(lambda: fake.get_message(callback.message_id or 0) is None)
    assert shared.content == f"shared by <@{fake.default_user_id}>"  # no note in public
    assert shared.embeds[0]["description"] == CORPUS.get(34).text
    assert shared.attachments == []
    [note] = [w for w in fake.webhook_messages if w.action == "create"]
    assert note.content == NO_ATTACH_FILES and note.flags & 64  # to the presser alone
    assert card_uploads_to_channels(fake) == []  # app_permissions said so: no failed try
    assert warnings_of(caplog) == []


async def test_a_card_too_large_for_discord_is_the_text_once_with_a_note(fake, bot, caplog):
    fake.max_request_bytes = 16_000  # every card is larger (24 kB or more), text is not
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card 34"})
    assert callback.ephemeral and callback.content == UPLOAD_FAILED
    assert callback.attachments == []

    await press(fake, custom_ids(callback)[0])
    [shared] = await fake.wait_for_messages(1)
    await fake.wait_for(lambda: fake.get_message(callback.message_id or 0) is None)
    assert shared.embeds[0]["description"] == CORPUS.get(34).text
    assert shared.attachments == [] and fake.attachments == {}
    assert [m.id for m in fake.messages] == [shared.id]  # nothing half-shared
    [note] = [w for w in fake.webhook_messages if w.action == "create"]
    assert note.content == UPLOAD_FAILED
    assert warnings_of(caplog) == [
        "card refused in discord /maxim (HTTP 413, code 40005): sending the text",
        f"card refused in discord channel {fake.default_channel_id} (HTTP 413, code 40005): "
        "sending the text",
    ]


async def test_attach_files_taken_while_the_post_is_in_flight_is_the_text_once(fake, bot, caplog):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "card 34"})
    fake.deny_attach_files(fake.default_channel_id)
    # The press still says the bot may attach files: Discord answers the upload 403, 50013.
    await fake.send_component(custom_ids(callback)[0], app_permissions=DEFAULT_BOT_PERMISSIONS)
    [shared] = await fake.wait_for_messages(1)
    await fake.wait_for(lambda: fake.get_message(callback.message_id or 0) is None)

    assert card_uploads_to_channels(fake) == [f"/channels/{fake.default_channel_id}/messages"]
    assert [m.id for m in fake.messages] == [shared.id]  # the text alone, nothing half-shared
    assert shared.embeds[0]["description"] == CORPUS.get(34).text
    assert shared.attachments == []
    [note] = [w for w in fake.webhook_messages if w.action == "create"]
    assert note.content == NO_ATTACH_FILES
    assert warnings_of(caplog) == [
        f"card refused in discord channel {fake.default_channel_id} (HTTP 403, code 50013): "
        "sending the text"
    ]


async def test_a_user_install_posts_the_card_through_the_interaction(fake, bot):
    friend = fake.add_user("friend")
    group = fake.add_private_channel(fake.default_user_id, friend.id)
    preview = await run_command(
        fake,
        client_of(bot),
        "maxim",
        {"query": "card 34"},
        channel_id=group.id,
        context=2,
        authorizing_integration_owners={USER_INSTALL: str(fake.default_user_id)},
    )
    assert_card(preview.attachments, CORPUS.get(34))

    await post_and_wait(fake, preview)
    [shared] = [w for w in fake.webhook_messages if w.action == "create"]
    assert not shared.payload.get("flags")  # public, for the whole group
    assert_card_embed(shared.embeds[0], CORPUS.get(34))
    assert_card(shared.attachments, CORPUS.get(34))
    assert fake.messages == []  # nothing through the channel


async def test_without_previews_the_card_itself_is_the_public_answer(fake, storage):
    async with running(settings_for(fake, preview=False), make_service(storage)) as platform:
        answer = await run_command(fake, client_of(platform), "maxim", {"query": "card 34"})
        fake.deny_attach_files(fake.default_channel_id)
        text = await run_command(fake, client_of(platform), "maxim", {"query": "card 34"})

    assert answer.type == 4 and not answer.ephemeral and answer.data is not None
    assert_card_embed(answer.data["embeds"][0], CORPUS.get(34))
    assert_card(answer.attachments, CORPUS.get(34))
    assert not text.ephemeral and text.content == NO_ATTACH_FILES and text.attachments == []


async def test_a_card_of_nothing_gets_the_text_forms_private_error(fake, bot):
    card = await run_command(fake, client_of(bot), "maxim", {"query": "card 71"})
    text = await run_command(fake, client_of(bot), "maxim", {"query": "71"})
    assert card.ephemeral
    assert card.content == text.content
    assert card.content == "⚠️ There’s no maxim 71: pick 1–70, or try `/maxim search <word>`."
    assert card.attachments == []


def test_the_discord_platform_loads_no_pillow_until_a_card_is_drawn():
    """Idle memory: the adapter knows cards, but Pillow waits for the first one drawn."""
    code = (
        "import sys\n"
        "import bot.platforms.discord.lifecycle\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'PIL'))\n"
    )
    done = run_python(code)
    assert (done.returncode, done.stdout.strip()) == (0, "[]"), done.stderr
