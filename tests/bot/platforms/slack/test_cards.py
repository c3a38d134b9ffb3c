"""`/maxim card` on Slack: a private preview, then Send uploads the card into the channel.

End to end through the real slack-bolt and slack_sdk (``files_upload_v2``'s three steps)
against the loopback fake, as in test_listeners.py: the bytes that arrive are checked against
`render_card`, and the channel's history shows at most one message per Send, whatever fails.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import sqlalchemy as sa

from bot.cards import alt_text, render_card
from bot.platforms.slack.cards import NO_SCOPE_NOTE, NOT_HERE_NOTE, UNSURE_NOTE
from bot.platforms.slack.render import CARD_ON_SEND
from bot.preview import ACTION_POST, ACTION_SHUFFLE, Preview
from bot.storage.slack.tables import slack_bots
from tests.bot.platforms.slack.helpers import CORPUS, NOW, Bot, make_service, post, settings_for
from tests.bot.platforms.slack.test_oauth import install, oauth_bot
from tests.fakes.slack.files import FILES_SCOPE, UPLOAD
from tests.fakes.slack.payloads import (
    app_mention_event,
    block_actions_body,
    direct_message_event,
    event_body,
    slash_command_body,
)


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


def history(bot: Bot, channel: str = "C1") -> list[dict[str, Any]]:
    """Every message in `channel`, text or file, as conversations.history would list it."""
    return [m for m in bot.fake.channel_messages(channel)]


async def test_a_card_preview_says_send_shares_it_as_an_image(make_bot):
    bot = make_bot()

    answer = await bot.command("card 3")

    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == f"Preview. Maxim 3: {CORPUS.get(3).text}"
    assert CARD_ON_SEND in texts(answer)
    assert list(buttons(answer)) == ["Send", "Cancel"]
    assert Preview.decode(buttons(answer)["Send"], CORPUS) == Preview(
        CORPUS.get(3), "number", card=True
    )
    assert bot.fake.calls_to("files.getUploadURLExternal") == []
    assert CARD_ON_SEND not in texts(await bot.command("3"))


async def test_shuffle_keeps_a_card_a_card(make_bot):
    bot = make_bot()
    first = await bot.command("card search dropout")

    await bot.click(ACTION_SHUFFLE, buttons(first)["Shuffle"])

    [(_, shuffled)] = bot.fake.responses
    assert "Maxim 5" in shuffled["text"]
    assert "result 2 of 2 for “dropout”" in texts(shuffled)
    assert CARD_ON_SEND in texts(shuffled)
    following = Preview.decode(buttons(shuffled)["Send"], CORPUS)
    assert (following.position, following.card) == (1, True)


async def test_send_uploads_the_card_into_the_channel(make_bot):
    bot = make_bot()
    value = buttons(await bot.command("card 3"))["Send"]

    await bot.click(ACTION_POST, value, user="U7")

    maxim = CORPUS.get(3)
    assert bot.fake.calls_to("chat.postMessage") == []
    [shared] = bot.fake.file_messages("C1")
    [file] = shared["files"]
    assert bot.fake.uploaded_bytes(file["id"]) == render_card(maxim)
    assert (file["name"], file["title"]) == ("maxim-3.png", "Maxim 3")
    assert file["alt_txt"] == alt_text(maxim)
    assert (file["original_w"], file["original_h"]) == (1200, 630)
    assert shared["text"] == "shared by <@U7>"
    assert len(bot.fake.channel_messages("C1")) == 1
    [(_, done)] = bot.fake.responses
    assert done["delete_original"] is True


async def test_without_files_write_the_text_goes_out_with_a_private_note(make_bot, caplog):
    # A single bot token installed before cards: Slack answers missing_scope at the first step.
    caplog.set_level(logging.INFO)
    bot = make_bot()
    bot.fake.deny_scope(FILES_SCOPE)
    value = buttons(await bot.command("card 3"))["Send"]

    await bot.click(ACTION_POST, value, user="U7")

    [message] = bot.fake.channel_messages("C1")
    assert message["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    assert "shared by <@U7>" in texts(message)
    assert bot.fake.file_messages("C1") == []
    [(_, note)] = bot.fake.responses
    assert note == {"text": NO_SCOPE_NOTE, "response_type": "ephemeral", "replace_original": True}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


@pytest.mark.parametrize(
    "failure",
    ["complete_error", "complete_server_error", "upload_url_error", "not_in_channel"],
)
async def test_a_failed_upload_shares_the_text_once_and_logs_one_line(make_bot, caplog, failure):
    bot = make_bot()
    fake = bot.fake
    channel = "C1"
    if failure == "complete_error":
        fake.fail_next("files.completeUploadExternal", "internal_error")
    elif failure == "complete_server_error":
        fake.server_error_next("files.completeUploadExternal", times=3)  # beyond the retries
    elif failure == "upload_url_error":
        fake.server_error_next(UPLOAD, times=3)
    else:
        channel = "C9"  # people are there; the bot was never invited
        fake.channel_members["C9"] = {"U1"}
    value = buttons(await bot.command("card 3"))["Send"]
    caplog.clear()

    url = fake.response_url("btn")
    await bot.dispatch(block_actions_body(ACTION_POST, value, "U7", channel, url))
    await bot.settle()

    assert fake.file_messages(channel) == []
    if failure == "not_in_channel":  # through the response_url, at the user's request
        assert fake.channel_messages(channel) == []
        [(_, shared), (_, note)] = fake.responses
        assert shared["response_type"] == "in_channel"
        assert note["text"] == NOT_HERE_NOTE
    else:
        [message] = fake.channel_messages(channel)
        assert message["text"] == f"Maxim 3: {CORPUS.get(3).text}"
        [(_, note)] = fake.responses
        assert note["text"].startswith("Shared as text")
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].name == "bot.platforms.slack.cards"
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_cut_off_upload_posts_no_text_as_well(make_bot, caplog):
    # The completion's connection drops, twice (slack_sdk retries once more): whether Slack
    # shared the card cannot be told from here, so the text must not follow it.
    bot = make_bot()
    fake = bot.fake
    value = buttons(await bot.command("card 3"))["Send"]
    fake.drop_next("files.completeUploadExternal", times=3)

    await bot.click(ACTION_POST, value, user="U7")

    assert fake.channel_messages("C1") == []
    [(_, note)] = fake.responses
    assert note["text"] == UNSURE_NOTE
    assert not [r for r in caplog.records if r.exc_info]


async def test_an_oauth_install_without_files_write_never_tries_the_upload(fake, storage, started):
    fake.oauth_app("1111.2222", "oauth-client-secret", token_rotation=True)
    fake.add_workspace("T2", channels=["C2"])
    bot = await started(oauth_bot(fake, storage))
    assert await install(bot, fake, "T2") == 200
    # An installation made before cards: its stored scopes lack files:write.
    async with storage.engine.begin() as conn:
        row = (await conn.execute(sa.select(slack_bots.c.bot_scopes))).scalar_one()
        older = ",".join(s for s in row.split(",") if s != FILES_SCOPE)
        await conn.execute(sa.update(slack_bots).values(bot_scopes=older))
    value = Preview(CORPUS.get(3), "number", card=True).encode()

    url = fake.response_url("btn")
    built = block_actions_body(ACTION_POST, value, "U7", "C2", url, team_id="T2")
    assert (await post(bot.port, built))[0] == 200
    assert await bot.background.drain(timeout=5)

    assert fake.calls_to("files.getUploadURLExternal") == []
    [message] = fake.channel_messages("C2")
    assert message["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    [(_, note)] = fake.responses
    assert note["text"] == NO_SCOPE_NOTE


# ------------------------------------------------------------------------------ answered at once


async def test_a_mention_asking_for_a_card_gets_the_card_in_its_thread(make_bot):
    bot = make_bot()

    await bot.dispatch(event_body(app_mention_event("card search dropout", ts="111.1")))
    await bot.settle()

    assert bot.fake.calls_to("chat.postMessage") == []
    [message] = bot.fake.channel_messages("C1")
    assert message["thread_ts"] == "111.1"
    assert message["text"] == "more matches: 5"
    [file] = message["files"]
    assert bot.fake.uploaded_bytes(file["id"]) == render_card(CORPUS.get(3))


async def test_a_mention_without_files_write_gets_the_text_and_the_note(make_bot):
    bot = make_bot()
    bot.fake.deny_scope(FILES_SCOPE)

    await bot.dispatch(event_body(app_mention_event("card 3", ts="111.1")))
    await bot.settle()

    [message] = bot.fake.channel_messages("C1")
    assert message["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    assert NO_SCOPE_NOTE in texts(message["blocks"])


async def test_a_direct_message_asking_for_a_card_gets_the_card_there(make_bot):
    bot = make_bot()

    await bot.dispatch(event_body(direct_message_event("card 4", "U1", ts="700.1")))
    await bot.settle()

    [message] = bot.fake.file_messages("DU1")
    assert bot.fake.uploaded_bytes(message["files"][0]["id"]) == render_card(CORPUS.get(4))
    assert bot.fake.calls_to("chat.postMessage") == []


async def test_without_a_preview_the_card_goes_to_the_channel_at_once(make_bot):
    bot = make_bot(preview=False)

    url = bot.fake.response_url("cmd")
    response = await bot.dispatch(slash_command_body("card today", user_id="U7", response_url=url))
    await bot.settle()

    assert (response.status, response.body) == (200, "")  # nothing but the card
    [message] = bot.fake.channel_messages("C1")
    assert message["text"] == "asked for by <@U7> · today’s maxim"
    [file] = message["files"]
    maxim = CORPUS.for_day(NOW.date(), "slack:C1")
    assert file["title"] == f"Maxim {maxim.number}"
    assert bot.fake.uploaded_bytes(file["id"]) == render_card(maxim)
    assert bot.fake.responses == []


async def test_without_a_preview_a_refused_card_is_the_text_through_the_response_url(make_bot):
    bot = make_bot(preview=False)
    bot.fake.channel_members["C9"] = {"U7"}  # the bot was never invited

    url = bot.fake.response_url("cmd")
    built = slash_command_body("card 3", user_id="U7", channel_id="C9", response_url=url)
    await bot.dispatch(built)
    await bot.settle()

    assert bot.fake.channel_messages("C9") == []
    [(_, answer)] = bot.fake.responses
    assert answer["response_type"] == "in_channel"
    assert answer["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    assert NOT_HERE_NOTE in texts(answer["blocks"])
