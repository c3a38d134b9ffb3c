"""Cards and links with the public pages (``web.public_url``): image blocks, unfurls, no upload.

End to end through the real slack-bolt and slack_sdk against the loopback fake, which checks
every image it is sent (an absolute http(s) ``image_url``, an ``alt_text`` of at most 2,000
characters) and records whether each message asked for unfurls. Requests go through
`app.async_dispatch`, the HTTP server and the Socket Mode websocket.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import random
from typing import Any

import pytest

from bot.bootstrap import build_platforms, build_service
from bot.cards import alt_text, render_card
from bot.config import Settings, TriggersConfig
from bot.platforms.slack.cards import NO_SCOPE_NOTE, NOT_HERE_NOTE
from bot.platforms.slack.lifecycle import SlackPlatform
from bot.platforms.slack.links import PublicPages
from bot.platforms.slack.render import CARD_ON_SEND, page_link
from bot.preview import ACTION_POST, ACTION_SHUFFLE, Preview
from maxims import Corpus, Maxim
from tests.bot.platforms.slack.helpers import (
    CORPUS,
    NOW,
    SECRET,
    Bot,
    make_service,
    platform_for,
    post,
    settings_for,
)
from tests.fakes.slack.blockkit import message_problem
from tests.fakes.slack.files import FILES_SCOPE
from tests.fakes.slack.payloads import (
    app_mention_event,
    block_actions_body,
    block_actions_payload,
    direct_message_event,
    event_body,
    slash_command_body,
    slash_command_payload,
)

PUBLIC = "https://maxims.example.org"
LINK_3 = "<https://maxims.example.org/maxims/3|maxims.example.org/maxims/3>"
CARD_3 = {
    "type": "image",
    "image_url": "https://maxims.example.org/cards/3.png",
    "alt_text": alt_text(CORPUS.get(3)),
}
FILE_METHODS = ("files.getUploadURLExternal", "files.completeUploadExternal")


@pytest.fixture
def make_bot(fake, storage):
    def build(public_url: str | None = PUBLIC, corpus: Corpus = CORPUS, **slack: Any) -> Bot:
        settings = settings_for(fake, public_url=public_url, **slack)
        return Bot(fake, settings, make_service(storage, corpus=corpus))

    return build


def texts(message: dict[str, Any]) -> str:
    return json.dumps(message, ensure_ascii=False)


def images(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for block in message.get("blocks", []) if block["type"] == "image"]


def context(message: dict[str, Any]) -> str:
    [line] = [b for b in message["blocks"] if b["type"] == "context"]
    return str(line["elements"][0]["text"])


def send_value(message: dict[str, Any]) -> str:
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    return next(str(e["value"]) for e in actions["elements"] if e["text"]["text"] == "Send")


def no_upload(bot_or_fake: Any) -> bool:
    fake = getattr(bot_or_fake, "fake", bot_or_fake)
    return all(fake.calls_to(method) == [] for method in FILE_METHODS)


# ------------------------------------------------------------------------------ addresses


def test_the_card_and_the_page_of_a_maxim_sit_under_the_public_url():
    pages = PublicPages(PUBLIC)

    assert pages.card(CORPUS.get(4)) == f"{PUBLIC}/cards/4.png"
    assert pages.page(CORPUS.get(3)) == f"{PUBLIC}/maxims/3"
    assert page_link(CORPUS.get(3), pages) == LINK_3


def test_a_public_url_cannot_break_out_of_its_link():
    # The operator's address, checked by the config, yet never able to end the mrkdwn link
    # early or add a mention: Slack's control characters are entities, ``|`` is encoded.
    pages = PublicPages("https://x.test/a|b><!channel>&")

    link = page_link(CORPUS.get(3), pages)

    assert link.count("<") == 1 and link.count(">") == 1
    assert link.count("|") == 1
    assert "<!channel>" not in link


# ------------------------------------------------------------------------------ previews


async def test_a_card_preview_shows_the_card_from_the_public_pages(make_bot):
    bot = make_bot()

    answer = await bot.command("card 3")

    assert answer["response_type"] == "ephemeral"
    assert images(answer) == [CARD_3]
    assert message_problem(answer) is None  # what Slack accepts
    assert ">Dropout is not a fix" not in texts(answer)  # the image, not the quote
    assert CARD_ON_SEND in context(answer)
    assert context(answer).endswith(LINK_3)
    assert answer["text"] == f"Preview. Maxim 3: {CORPUS.get(3).text}"  # notifications
    assert no_upload(bot)


async def test_a_text_preview_stays_text_and_links_its_page(make_bot):
    answer = await make_bot().command("3")

    assert images(answer) == []
    assert context(answer).endswith(LINK_3)


async def test_without_a_public_url_nothing_links_and_the_card_preview_is_text(make_bot):
    bot = make_bot(public_url=None)

    for answer in (await bot.command("card 3"), await bot.command("3")):
        assert images(answer) == []
        assert "maxims/3" not in texts(answer)


async def test_shuffle_keeps_the_card_an_image(make_bot):
    bot = make_bot()
    first = await bot.command("card search dropout")
    [actions] = [b for b in first["blocks"] if b["type"] == "actions"]
    shuffle = next(e["value"] for e in actions["elements"] if e["text"]["text"] == "Shuffle")

    await bot.click(ACTION_SHUFFLE, shuffle)

    [(_, shuffled)] = bot.fake.responses  # the fake checked its blocks, as Slack would
    [image] = images(shuffled)
    assert image["image_url"] == f"{PUBLIC}/cards/5.png"


# ------------------------------------------------------------------------------ Send


@pytest.mark.parametrize("files_write", [True, False])
async def test_send_shares_the_card_as_an_image_block_without_an_upload(make_bot, files_write):
    bot = make_bot()
    if not files_write:
        bot.fake.deny_scope(FILES_SCOPE)  # an install from before cards: no matter here
    value = send_value(await bot.command("card 3"))

    await bot.click(ACTION_POST, value, user="U7")

    [message] = bot.fake.channel_messages("C1")
    assert images(message) == [CARD_3]
    assert context(message) == f"*Maxim 3* · dropout · shared by <@U7> · {LINK_3}"
    assert message["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    assert bot.fake.unfurl_links[message["ts"]] is False  # the image is the card: shown once
    [call] = bot.fake.calls_to("chat.postMessage")
    assert call.body["unfurl_media"] is False
    assert no_upload(bot)
    [(_, done)] = bot.fake.responses
    assert done["delete_original"] is True


async def test_a_card_of_a_maxim_full_of_control_characters_pings_nobody(make_bot):
    # Maxim 1 holds <!channel>, <@U999> and a link: plain text in the alt text (no mrkdwn
    # there), escaped wherever mrkdwn is read.
    bot = make_bot()
    value = send_value(await bot.command("card 1"))

    await bot.click(ACTION_POST, value, user="U7")

    [message] = bot.fake.channel_messages("C1")
    [image] = images(message)
    assert image["alt_text"] == alt_text(CORPUS.get(1))
    mrkdwn = texts({"text": message["text"], "context": context(message)})
    assert "<!channel>" not in mrkdwn and "<@U999>" not in mrkdwn
    assert "&lt;!channel&gt;" in message["text"]


async def test_send_of_a_text_maxim_links_its_page_and_lets_it_unfurl(make_bot):
    bot = make_bot()
    value = send_value(await bot.command("3"))

    await bot.click(ACTION_POST, value, user="U7")

    [message] = bot.fake.channel_messages("C1")
    assert images(message) == []
    assert context(message).endswith(f"shared by <@U7> · {LINK_3}")
    assert bot.fake.unfurl_links[message["ts"]] is True  # the page unfurls as its card


async def test_without_a_public_url_a_shared_maxim_neither_links_nor_unfurls(make_bot):
    bot = make_bot(public_url=None)
    value = send_value(await bot.command("3"))

    await bot.click(ACTION_POST, value, user="U7")

    [message] = bot.fake.channel_messages("C1")
    assert "maxims/3" not in texts(message)
    assert bot.fake.unfurl_links[message["ts"]] is False


@pytest.mark.parametrize(("ask", "unfurl"), [("card 3", False), ("3", True)])
async def test_where_the_bot_is_no_member_the_share_goes_through_the_response_url(
    make_bot, ask, unfurl
):
    bot = make_bot()
    bot.fake.channel_members["C9"] = {"U7"}  # the bot was never invited
    value = send_value(await bot.command(ask, channel_id="C9"))

    url = bot.fake.response_url("btn")
    await bot.dispatch(block_actions_body(ACTION_POST, value, "U7", "C9", url))
    await bot.settle()

    assert bot.fake.channel_messages("C9") == []
    [(_, shared), (_, done)] = bot.fake.responses
    assert shared["response_type"] == "in_channel"
    assert images(shared) == ([CARD_3] if ask.startswith("card") else [])
    assert shared["unfurl_links"] is unfurl
    assert done["delete_original"] is True
    assert no_upload(bot)


async def test_where_neither_the_bot_is_a_member_nor_the_image_reachable_the_text_goes(make_bot):
    bot = make_bot()
    bot.fake.channel_members["C9"] = {"U7"}
    bot.fake.images_unreachable = True
    value = send_value(await bot.command("card 3", channel_id="C9"))

    url = bot.fake.response_url("btn")
    await bot.dispatch(block_actions_body(ACTION_POST, value, "U7", "C9", url))
    await bot.settle()

    [(_, shared), (_, note)] = bot.fake.responses  # the refused image left no message
    assert shared["response_type"] == "in_channel"
    assert shared["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    assert images(shared) == []
    assert note["text"] == NOT_HERE_NOTE


async def test_a_card_of_a_maxim_near_the_length_limit_keeps_its_alt_text_within_slacks(
    make_bot,
):
    # 2,000 characters of maxim (the corpus's limit) plus "Maxim 6: " is over Slack's limit
    # for alt text: cut, or Slack (and the fake) refuses the message.
    longest = Maxim(6, "word " * 399 + "words", ("long",))
    bot = make_bot(corpus=Corpus([*CORPUS, longest]))
    value = send_value(await bot.command("card 6"))

    await bot.click(ACTION_POST, value)

    [message] = bot.fake.channel_messages("C1")
    [image] = images(message)
    assert len(image["alt_text"]) == 2000
    assert image["alt_text"].startswith("Maxim 6: word word")
    assert image["alt_text"].endswith("…")


async def test_where_slack_cannot_fetch_the_image_the_card_is_uploaded_once(make_bot, caplog):
    # The public pages are down (or unreachable from Slack): Slack refuses the message.
    bot = make_bot()
    bot.fake.images_unreachable = True
    value = send_value(await bot.command("card 3"))
    caplog.clear()

    await bot.click(ACTION_POST, value, user="U7")

    [message] = bot.fake.channel_messages("C1")  # the upload's message, and nothing else
    [file] = message["files"]
    assert bot.fake.uploaded_bytes(file["id"]) == render_card(CORPUS.get(3))
    assert message["text"] == "shared by <@U7>"
    [(_, done)] = bot.fake.responses
    assert done["delete_original"] is True
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["bot.platforms.slack.sharing"]
    assert "web.public_url" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]


async def test_where_slack_can_neither_fetch_nor_take_the_card_the_text_goes_once(make_bot):
    bot = make_bot()
    bot.fake.images_unreachable = True
    bot.fake.deny_scope(FILES_SCOPE)
    value = send_value(await bot.command("card 3"))

    await bot.click(ACTION_POST, value, user="U7")

    [message] = bot.fake.channel_messages("C1")
    assert message["text"] == f"Maxim 3: {CORPUS.get(3).text}"
    assert "maxims/3" not in texts(message)  # the page is as unreachable as its card
    assert bot.fake.unfurl_links[message["ts"]] is False
    [(_, note)] = bot.fake.responses
    assert note["text"] == NO_SCOPE_NOTE


async def test_a_mention_whose_image_slack_cannot_fetch_gets_the_uploaded_card(make_bot):
    bot = make_bot()
    bot.fake.images_unreachable = True

    await bot.dispatch(event_body(app_mention_event("card 3", ts="111.1")))
    await bot.settle()

    [message] = bot.fake.channel_messages("C1")
    assert message["thread_ts"] == "111.1"
    assert bot.fake.uploaded_bytes(message["files"][0]["id"]) == render_card(CORPUS.get(3))


# ------------------------------------------------------------------------------ answered at once


async def test_without_a_preview_the_card_goes_to_the_channel_as_an_image(make_bot):
    bot = make_bot(preview=False)

    url = bot.fake.response_url("cmd")
    response = await bot.dispatch(slash_command_body("card 3", user_id="U7", response_url=url))
    await bot.settle()

    assert (response.status, response.body) == (200, "")  # nothing but the card
    [message] = bot.fake.channel_messages("C1")
    assert images(message) == [CARD_3]
    assert context(message) == f"*Maxim 3* · dropout · asked for by <@U7> · {LINK_3}"
    assert bot.fake.unfurl_links[message["ts"]] is False
    assert bot.fake.responses == []
    assert no_upload(bot)


@pytest.mark.parametrize("reachable", [True, False])
async def test_without_a_preview_or_the_bot_in_the_channel_the_card_goes_by_response_url(
    make_bot, reachable
):
    bot = make_bot(preview=False)
    bot.fake.channel_members["C9"] = {"U7"}  # the bot was never invited
    bot.fake.images_unreachable = not reachable

    url = bot.fake.response_url("cmd")
    built = slash_command_body("card 3", user_id="U7", channel_id="C9", response_url=url)
    await bot.dispatch(built)
    await bot.settle()

    assert bot.fake.channel_messages("C9") == []
    [(_, answer)] = bot.fake.responses
    assert answer["response_type"] == "in_channel"
    if reachable:
        assert images(answer) == [CARD_3]
    else:  # Slack could fetch no image: the upload, refused here, leaves the text
        assert answer["text"] == f"Maxim 3: {CORPUS.get(3).text}"
        assert NOT_HERE_NOTE in texts(answer)


async def test_without_a_preview_an_unreachable_image_is_uploaded_instead(make_bot):
    bot = make_bot(preview=False)
    bot.fake.images_unreachable = True

    await bot.dispatch(slash_command_body("card 3", user_id="U7"))
    await bot.settle()

    [message] = bot.fake.channel_messages("C1")
    assert message["text"] == "asked for by <@U7>"
    assert bot.fake.uploaded_bytes(message["files"][0]["id"]) == render_card(CORPUS.get(3))


async def test_a_mention_asking_for_a_card_gets_the_image_in_its_thread(make_bot):
    bot = make_bot()

    await bot.dispatch(event_body(app_mention_event("card search dropout", ts="111.1")))
    await bot.settle()

    [message] = bot.fake.channel_messages("C1")
    assert message["thread_ts"] == "111.1"
    assert images(message) == [CARD_3]
    assert context(message) == f"*Maxim 3* · dropout · more matches: 5 · {LINK_3}"
    assert bot.fake.unfurl_links[message["ts"]] is False
    assert no_upload(bot)


async def test_a_mention_asking_for_text_links_the_page_without_unfurling_it(make_bot):
    bot = make_bot()

    await bot.dispatch(event_body(app_mention_event("3", ts="111.1")))
    await bot.settle()

    [message] = bot.fake.channel_messages("C1")
    assert images(message) == []
    assert context(message).endswith(LINK_3)
    assert bot.fake.unfurl_links[message["ts"]] is False  # an answer in a thread stays small


async def test_a_direct_message_asking_for_a_card_gets_the_image_there(make_bot):
    bot = make_bot()

    await bot.dispatch(event_body(direct_message_event("card 4", "U1", ts="700.1")))
    await bot.settle()

    [message] = bot.fake.channel_messages("DU1")
    [image] = images(message)
    assert image["image_url"] == f"{PUBLIC}/cards/4.png"
    assert no_upload(bot)


# ------------------------------------------------------------------------------ whole platforms


async def test_over_socket_mode_a_card_is_previewed_and_sent_as_an_image(fake, storage, started):
    await started(platform_for(settings_for(fake, mode="socket", public_url=PUBLIC), storage))
    await fake.wait_socket_connected()

    command = await fake.socket_send("slash_commands", slash_command_payload("card 3"))
    value = Preview(CORPUS.get(3), "number", card=True).encode()
    url = fake.response_url("b")
    await fake.socket_send(
        "interactive", block_actions_payload(ACTION_POST, value, "U7", "C1", url)
    )
    [shared] = await fake.wait_for("chat.postMessage")
    await fake.wait_for_response(name="b")

    assert images(command["payload"]) == [CARD_3]  # the fake checked the acknowledgement
    assert images(shared.body) == [CARD_3]
    assert fake.unfurl_links[shared.response["ts"]] is False
    assert no_upload(fake)


async def test_over_http_a_card_is_previewed_and_sent_as_an_image(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, public_url=PUBLIC), storage))
    assert platform.port is not None

    status, body = await post(platform.port, slash_command_body("card 3"))
    assert status == 200
    answer = json.loads(body)
    value = send_value(answer)
    url = fake.response_url("b")
    built = block_actions_body(ACTION_POST, value, "U7", "C1", url)
    assert (await post(platform.port, built, secret=SECRET))[0] == 200
    await platform.background.drain(timeout=5)

    assert images(answer) == [CARD_3]
    assert message_problem(answer) is None
    [message] = fake.channel_messages("C1")
    assert images(message) == [CARD_3]
    assert fake.unfurl_links[message["ts"]] is False
    assert no_upload(fake)


def test_the_composition_root_hands_slack_the_public_url(fake, storage):
    settings = Settings.model_validate(
        {
            "web": {"public_url": PUBLIC + "/"},
            "slack": {"api_url": fake.url, "mode": "http", "http_port": 0},
            "secrets": {"slack_bot_token": "xoxb-test", "slack_signing_secret": SECRET},
        }
    )
    service = build_service(
        Settings(triggers=TriggersConfig(cooldown_seconds=0)),
        storage,
        clock=lambda: NOW,
        rng=random.Random(1),
        corpus=CORPUS,
    )

    [platform] = build_platforms(
        settings, service, healthy=lambda: True, stdin=io.StringIO(), stdout=io.StringIO()
    )

    assert isinstance(platform, SlackPlatform)
    assert platform.pages is not None
    assert platform.pages.card(CORPUS.get(3)) == f"{PUBLIC}/cards/3.png"


async def test_daily_card_posts_stay_uploads_with_a_public_url(fake, storage):
    # Exactly-once for a daily card rests on the uploaded file's name (find_post), and an
    # upload does not depend on the web server answering Slack at posting time.
    platform = platform_for(settings_for(fake, public_url=PUBLIC), storage)

    ts = await platform.poster.post("C1", CORPUS.get(3), key="slack:C1:2026-11-28", style="card")

    [message] = fake.file_messages("C1")
    assert message["ts"] == ts
    assert images(message) == []
    since = dt.datetime(2023, 11, 14, 22, 0, tzinfo=dt.UTC)  # before the fake's first ts
    assert await platform.poster.find_post("C1", "slack:C1:2026-11-28", since=since) == ts
