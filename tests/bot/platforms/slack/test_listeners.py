"""The Slack adapter end to end: the real slack-bolt app and slack_sdk against the loopback fake.

Requests are signed exactly as Slack signs them and go through `app.async_dispatch`, the real
aiohttp server of HTTP mode, or the fake's Socket Mode websocket. Storage is real SQLite. No
sleeps: tests wait for the fake to record a call, or for the adapter's background work.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import aiohttp
import pytest

from bot.background import Background
from bot.chat import ChatService
from bot.daily.commands import ADMINS_ONLY
from bot.platforms.slack.admins import SlackAdmins
from bot.platforms.slack.listeners import SlackListeners, strip_mention
from bot.platforms.slack.web import is_slack_url
from bot.preview import ACTION_CANCEL, ACTION_POST, ACTION_SHUFFLE, Preview
from bot.storage import Storage
from maxims import MaximReply, load_corpus
from tests.bot.platforms.slack.helpers import CORPUS, Bot, make_service, settings_for
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.blockkit import message_problem
from tests.fakes.slack.payloads import (
    app_mention_event,
    block_actions_body,
    event_body,
    message_event,
)

DELETED = {"text": "", "delete_original": True}  # what bolt's respond(delete_original=True) sends


@pytest.fixture
def make_bot(fake, storage):
    def build(ack_deadline: float = 2.0, **slack: Any) -> Bot:
        settings = settings_for(fake, **slack)
        return Bot(fake, settings, make_service(storage), ack_deadline=ack_deadline)

    return build


def texts(message: dict[str, Any]) -> str:
    """Every string in a message, for checks that must hold everywhere in it."""
    return json.dumps(message, ensure_ascii=False)


def buttons(message: dict[str, Any]) -> dict[str, str]:
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["text"]["text"]: e for e in actions["elements"]}


# ------------------------------------------------------------------------------ /maxim


async def test_maxim_by_number_is_a_private_preview_with_send_and_cancel(make_bot):
    bot = make_bot()

    answer = await bot.command("2")

    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == f"Preview. Maxim 2: {CORPUS.get(2).text}"
    assert answer["blocks"][0]["text"]["text"] == (
        ">If you’re seeing NaN, you need a smaller learning rate."
    )
    assert "*Maxim 2* · nan" in answer["blocks"][1]["elements"][0]["text"]
    shown = buttons(answer)
    assert list(shown) == ["Send", "Cancel"]  # no Shuffle for a maxim asked for by number
    assert shown["Send"]["action_id"] == ACTION_POST
    assert Preview.decode(shown["Send"]["value"], CORPUS) == Preview(CORPUS.get(2), "number")
    assert bot.fake.calls_to("chat.postMessage") == []  # nothing public


async def test_random_and_search_previews_offer_shuffle(make_bot):
    bot = make_bot()

    random_answer = await bot.command("")
    search_answer = await bot.command("search dropout")

    assert list(buttons(random_answer)) == ["Send", "Shuffle", "Cancel"]
    assert list(buttons(search_answer)) == ["Send", "Shuffle", "Cancel"]
    assert "result 1 of 2 for “dropout”" in texts(search_answer)


async def test_an_answer_is_rendered_and_serialised_once_per_reply(fake, storage):
    listeners = SlackListeners(
        make_service(storage), settings_for(fake).slack, Background("test"), SlackAdmins(), 2.0
    )

    first = listeners.acknowledgement(MaximReply((CORPUS.get(2),), "number"))
    again = listeners.acknowledgement(MaximReply((CORPUS.get(2),), "number"))
    other = listeners.acknowledgement(MaximReply((CORPUS.get(3),), "number"))

    assert again is first  # an equal reply: the same rendering, not a new one
    assert other is not first
    assert json.loads(first.body) == first.message
    response = first.response()
    assert (response.status, response.body) == (200, first.body)
    assert response.headers["content-type"] == ["application/json;charset=utf-8"]


async def test_preview_off_answers_in_the_channel_at_once(make_bot):
    bot = make_bot(preview=False)

    answer = await bot.command("3")

    assert answer["response_type"] == "in_channel"
    assert answer["text"] == "Maxim 3: Dropout is not a fix for a leaky validation set."
    assert all(block["type"] != "actions" for block in answer["blocks"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("help", "/maxim search WORDS"),
        ("list", "*5.* More dropout, fewer excuses."),
        ("71", "There’s no maxim 71: pick 1–5"),
        ("search quaternion", "No maxim matches “quaternion”"),
        ("daily 9am", "isn’t a time I can read"),
    ],
)
async def test_help_list_and_errors_are_private(make_bot, text, expected):
    answer = await make_bot(preview=False).command(text)

    assert answer["response_type"] == "ephemeral"
    assert expected in texts(answer)


async def test_maxim_text_and_user_input_cannot_mention_or_link(make_bot):
    bot = make_bot(preview=False)

    maxim = await bot.command("1")
    echoed = await bot.command("search <!here> <@U2> &amp;")

    quote = maxim["blocks"][0]["text"]["text"]
    assert quote == (
        ">Escape &lt;!channel&gt; &amp; &lt;@U999&gt; before &lt;https://x.test|clicking&gt;."
    )
    for message in (maxim, echoed):
        assert "<!" not in texts(message)
        assert "<@" not in texts(message)
        assert "<http" not in texts(message)


async def test_a_failing_command_gets_a_private_apology_with_a_reference(fake, storage, caplog):
    class Broken(ChatService):
        async def command(self, *args, **kwargs):
            raise RuntimeError("database password is hunter2")

    bot = Bot(fake, settings_for(fake), Broken(**vars_of(make_service(storage))))

    with caplog.at_level(logging.ERROR, logger="bot.platforms.slack.listeners"):
        answer = await bot.command("2")

    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Something went wrong on my side (ref ")
    assert "hunter2" not in answer["text"]
    assert "RuntimeError" not in answer["text"]
    [record] = [r for r in caplog.records if r.name == "bot.platforms.slack.listeners"]
    assert record.exc_info[0] is RuntimeError  # the traceback is in the log, with the reference
    assert answer["text"].split("ref ")[1][:6] in record.getMessage()


def vars_of(service: ChatService) -> dict[str, Any]:
    return {
        "corpus": service.corpus,
        "engine": service.engine,
        "storage": service.storage,
        "clock": service.clock,
        "rng": service.rng,
        "daily": service.daily,
    }


# ------------------------------------------------------------------------------ buttons


async def test_send_posts_as_the_bot_shared_by_the_user_and_removes_the_preview(make_bot):
    bot = make_bot()
    value = buttons(await bot.command("3"))["Send"]["value"]

    await bot.click(ACTION_POST, value, user="U7")

    [post] = bot.fake.calls_to("chat.postMessage")
    assert post.body["channel"] == "C1"
    assert post.body["text"] == "Maxim 3: Dropout is not a fix for a leaky validation set."
    assert "shared by <@U7>" in texts(post.body["blocks"])
    assert bot.fake.responses == [("btn", DELETED)]


async def test_send_where_the_bot_is_not_a_member_posts_through_the_response_url(make_bot):
    bot = make_bot()
    value = buttons(await bot.command("3"))["Send"]["value"]
    bot.fake.member_of.discard("C1")  # nobody invited the bot here

    await bot.click(ACTION_POST, value)

    [refused] = bot.fake.calls_to("chat.postMessage")
    assert refused.error == "not_in_channel"
    [(_, shared), (_, removed)] = bot.fake.responses
    assert shared["response_type"] == "in_channel"
    assert shared["replace_original"] is False
    assert "shared by <@U1>" in texts(shared)
    assert removed == DELETED


async def test_shuffle_replaces_the_preview_with_the_next_search_result(make_bot):
    bot = make_bot()
    first = await bot.command("dropout")
    assert "Maxim 3" in first["text"]

    await bot.click(ACTION_SHUFFLE, buttons(first)["Shuffle"]["value"])

    [(_, shuffled)] = bot.fake.responses
    assert shuffled["response_type"] == "ephemeral"  # still private
    assert shuffled["replace_original"] is True
    assert "Maxim 5" in shuffled["text"]
    assert "result 2 of 2 for “dropout”" in texts(shuffled)
    assert Preview.decode(buttons(shuffled)["Send"]["value"], CORPUS).position == 1
    assert bot.fake.calls_to("chat.postMessage") == []


async def test_cancel_removes_the_preview_and_posts_nothing(make_bot):
    bot = make_bot()
    value = buttons(await bot.command(""))["Cancel"]["value"]

    await bot.click(ACTION_CANCEL, value)

    assert bot.fake.responses == [("btn", DELETED)]
    assert bot.fake.calls_to("chat.postMessage") == []


@pytest.mark.parametrize("action", [ACTION_POST, ACTION_SHUFFLE])
async def test_an_out_of_date_button_says_so_privately(make_bot, action):
    bot = make_bot()

    await bot.click(action, "number|99|0|")

    [(_, answer)] = bot.fake.responses
    assert answer["response_type"] == "ephemeral"
    assert "out of date" in answer["text"]
    assert bot.fake.calls_to("chat.postMessage") == []


async def test_a_failing_button_apologises_privately(make_bot):
    bot = make_bot()
    value = buttons(await bot.command("3"))["Send"]["value"]
    bot.fake.fail_next("chat.postMessage", "msg_too_long")

    await bot.click(ACTION_POST, value)

    [(_, apology)] = bot.fake.responses
    assert apology["response_type"] == "ephemeral"
    assert apology["replace_original"] is False
    assert apology["text"].startswith("Something went wrong on my side (ref ")


# ------------------------------------------------------------------------------ mentions


@pytest.mark.parametrize(
    ("text", "bot", "expected"),
    [
        ("<@UBOT> 42", "UBOT", "42"),
        ("<@UBOT|maxim>   search   dropout ", "UBOT", "search dropout"),
        ("hey <@UBOT> search nan", "UBOT", "hey search nan"),
        ("<@UOTHER> 7", "UBOT", "<@UOTHER> 7"),
        ("<@UBOT> 7", None, "7"),
    ],
)
def test_a_mention_loses_the_bots_own_name(text, bot, expected):
    assert strip_mention(text, bot) == expected


async def test_a_mention_answers_in_the_thread_like_the_command(make_bot):
    bot = make_bot(preview=False)

    response = await bot.dispatch(event_body(app_mention_event("search dropout", ts="111.1")))
    await bot.settle()
    command = await bot.command("search dropout")

    assert response.status == 200
    [post] = bot.fake.calls_to("chat.postMessage")
    assert post.body["thread_ts"] == "111.1"
    assert post.body["text"] == "Maxim 3: Dropout is not a fix for a leaky validation set."
    assert "more matches: 5" in texts(post.body["blocks"])
    assert post.body["blocks"] == command["blocks"]  # the same answer as `/maxim`


async def test_a_mention_in_a_thread_answers_in_that_thread(make_bot):
    bot = make_bot()

    event = app_mention_event("4", ts="222.2", thread_ts="200.0")
    await bot.dispatch(event_body(event))
    await bot.settle()

    [post] = bot.fake.calls_to("chat.postMessage")
    assert post.body["thread_ts"] == "200.0"
    assert post.body["text"].startswith("Maxim 4:")


async def test_a_mention_asking_for_help_answers_only_the_asker(make_bot):
    bot = make_bot()

    await bot.dispatch(event_body(app_mention_event("help", user_id="U5", ts="333.3")))
    await bot.settle()

    assert bot.fake.calls_to("chat.postMessage") == []
    [note] = bot.fake.calls_to("chat.postEphemeral")
    assert note.body["user"] == "U5"
    assert note.body["thread_ts"] == "333.3"
    assert "/maxim search WORDS" in texts(note.body)


# ------------------------------------------------------------------------------ messages


async def test_nan_gets_a_threaded_answer_and_the_configured_reaction(make_bot, fake):
    bot = make_bot(reaction=":thinking_face:")
    # A message of a human in the fake's channel, so the reaction has something to land on.
    human = fake.web_client()
    posted = await human.chat_postMessage(channel="C1", text="my loss is NaN again")
    fake.clear()

    await bot.dispatch(event_body(message_event("my loss is NaN again", ts=posted["ts"])))
    await bot.settle()

    [answer] = fake.calls_to("chat.postMessage")
    assert answer.body["thread_ts"] == posted["ts"]
    assert answer.body["text"] == f"Maxim 2: {CORPUS.get(2).text}"  # seeded: one of the NaN two
    [reaction] = fake.calls_to("reactions.add")
    assert reaction.body == {
        "channel": "C1",
        "timestamp": posted["ts"],
        "name": "thinking_face",
        "team_id": "T1",  # Bolt's client of the request names its workspace on every call
    }


async def test_messages_without_a_trigger_get_no_answer(make_bot):
    bot = make_bot()

    await bot.dispatch(event_body(message_event("banana bread")))
    await bot.settle()

    assert [call.method for call in bot.fake.calls] == ["auth.test"]  # bolt's, once


async def test_a_redelivered_event_is_answered_once(make_bot):
    bot = make_bot()
    event = message_event("NaN everywhere", ts="444.4")

    for attempt in range(3):  # Slack retries when it got no 200 within 3 s
        response = await bot.dispatch(event_body(event, event_id="EvSame"))
        assert response.status == 200, attempt
    await bot.settle()

    assert len(bot.fake.calls_to("chat.postMessage")) == 1


async def test_two_processes_sharing_storage_answer_a_redelivery_once(fake, sqlite_url):
    async with await Storage.open(sqlite_url) as one, await Storage.open(sqlite_url) as two:
        bots = [Bot(fake, settings_for(fake), make_service(store)) for store in (one, two)]
        for bot in bots:
            await bot.dispatch(event_body(message_event("NaN!", ts="555.5"), event_id="EvTwice"))
        for bot in bots:
            await bot.settle()

    assert len(fake.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    "event",
    [
        message_event("NaN from another bot", bot_id="B999"),
        message_event("NaN from a bot", subtype="bot_message"),
        message_event("NaN, edited", subtype="message_changed"),
        message_event("", subtype="message_deleted"),
        message_event("<@U1> has joined the channel, NaN", subtype="channel_join"),
        message_event("NaN but mentioning <@UBOT>"),  # on_mention answers that one
    ],
    ids=["other bot", "bot_message", "edit", "deletion", "join", "mention"],
)
async def test_bots_edits_deletions_and_joins_are_ignored(make_bot, event):
    bot = make_bot()

    await bot.dispatch(event_body(event))
    await bot.settle()

    assert bot.fake.calls_to("chat.postMessage") == []


async def test_the_bots_own_messages_are_ignored(make_bot, fake):
    bot = make_bot()
    own = message_event("NaN in my own daily post", user_id=fake.bot_user_id, bot_id=fake.bot_id)

    await bot.dispatch(event_body(own))
    await bot.settle()

    assert fake.calls_to("chat.postMessage") == []


# ------------------------------------------------------------------------------ /maxim daily


async def test_an_admin_sets_the_daily_post(make_bot, fake, storage):
    fake.users["UADMIN"] = {"is_admin": True}
    bot = make_bot()

    answer = await bot.command("daily 09:00 Europe/Berlin", user="UADMIN", team_id="T1")

    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Done: a maxim of the day will be posted here daily at 09:00")
    sub = await storage.get_subscription("slack", "C1")
    assert (sub.time, sub.timezone, sub.set_by, sub.workspace) == (
        dt.time(9, 0),
        "Europe/Berlin",
        "UADMIN",
        "T1",
    )


async def test_a_non_admin_may_look_but_not_change(make_bot, fake, storage):
    fake.users["UPLAIN"] = {"is_admin": False, "is_owner": False}
    bot = make_bot()

    refused = await bot.command("daily 09:00 Europe/Berlin", user="UPLAIN")
    shown = await bot.command("daily", user="UPLAIN")

    assert refused["text"] == ADMINS_ONLY.replace("&", "&amp;")
    assert await storage.get_subscription("slack", "C1") is None
    assert "This channel has no daily post" in shown["text"]
    assert len(fake.calls_to("users.info")) == 1  # showing needs no admin check


async def test_owners_and_configured_admins_may_change_and_answers_are_cached(make_bot, fake):
    fake.users["UOWNER"] = {"is_owner": True}
    bot = make_bot(admins=["UCONF"])

    by_config = await bot.command("daily off", user="UCONF")
    by_owner = await bot.command("daily 10:30", user="UOWNER")
    again = await bot.command("daily off", user="UOWNER")

    assert "nothing to stop" in by_config["text"]
    assert "daily at 10:30 UTC" in by_owner["text"]
    assert "Stopped" in again["text"]
    assert [c.body["user"] for c in fake.calls_to("users.info")] == ["UOWNER"]


async def test_a_failing_users_info_refuses_instead_of_erroring(make_bot, fake):
    bot = make_bot()
    fake.fail_next("users.info", "missing_scope")

    answer = await bot.command("daily 09:00", user="UNKNOWN")

    assert answer["text"] == ADMINS_ONLY.replace("&", "&amp;")


async def test_a_slow_admin_check_is_acknowledged_first_and_answered_later(make_bot, fake):
    fake.users["UADMIN"] = {"is_admin": True}
    bot = make_bot(ack_deadline=0.05)
    gate = fake.hold_next("users.info")

    answer = await bot.command("daily 08:00 Europe/Berlin", user="UADMIN")
    assert answer == {"response_type": "ephemeral", "text": "Working on it…"}
    gate.set()
    await bot.settle()

    [(name, later)] = fake.responses
    assert name == "cmd"
    assert later["response_type"] == "ephemeral"
    assert later["replace_original"] is False
    assert "daily at 08:00 Europe/Berlin" in later["text"]


async def test_a_redelivered_mention_is_answered_once(make_bot):
    bot = make_bot()

    for _ in range(2):
        await bot.dispatch(event_body(app_mention_event("2", ts="666.6"), event_id="EvMention"))
    await bot.settle()

    assert len(bot.fake.calls_to("chat.postMessage")) == 1


# ------------------------------------------------------------------------------ response URLs


async def test_a_response_url_off_slack_is_refused_with_one_warning(make_bot, caplog):
    bot = make_bot()
    value = buttons(await bot.command("3"))["Cancel"]["value"]
    async with FakeSlack() as internal:  # stands for an internal admin URL
        url = internal.response_url("admin")
        with caplog.at_level(logging.WARNING):
            response = await bot.dispatch(
                block_actions_body(ACTION_CANCEL, value, response_url=url)
            )
            await bot.settle()

        assert response.status == 200
        assert internal.responses == []
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.name == "bot.platforms.slack.listeners"
    assert "not Slack's" in warning.getMessage()
    assert url not in warning.getMessage()  # the URL may carry a secret: log its host only


@pytest.mark.parametrize(
    ("url", "ours"),
    [
        ("https://hooks.slack.com/commands/T1/1/abc", True),
        ("https://hooks.slack.com:443/actions/T1/1/abc", True),
        ("http://hooks.slack.com/commands/T1/1/abc", False),
        ("https://hooks.slack.com.evil.test/commands", False),
        ("https://hooks.slack.com@evil.test/commands", False),
        ("https://evil.test/?u=https://hooks.slack.com/", False),
        ("https://slack.com/api/", True),  # the host of slack.api_url
        ("https://api.slack.com/", False),
        ("http://127.0.0.1:9/response/unset", False),
        ("not a url", False),
        ("", False),
    ],
)
def test_only_slacks_hosts_count_as_response_urls(url, ours):
    assert is_slack_url(url, "https://slack.com/api/") is ours


@pytest.mark.parametrize(
    ("user", "enterprise", "allowed"),
    [
        ({"is_admin": True, "team_id": "T_OTHER"}, "", False),  # Slack Connect admin
        (
            {"is_owner": True, "team_id": "T2", "enterprise_user": {"enterprise_id": "E1"}},
            "E1",
            True,
        ),
        (
            {"is_owner": True, "team_id": "T2", "enterprise_user": {"enterprise_id": "E2"}},
            "E1",
            False,
        ),
    ],
    ids=["connect admin of another org", "grid org admin", "admin of another grid org"],
)
async def test_only_admins_of_the_asking_workspace_may_change(
    make_bot, fake, storage, user, enterprise, allowed
):
    fake.users["UADMIN"] = user

    answer = await make_bot().command(
        "daily 09:00", user="UADMIN", team_id="T1", enterprise_id=enterprise
    )

    assert (answer["text"] != ADMINS_ONLY.replace("&", "&amp;")) is allowed
    assert (await storage.get_subscription("slack", "C1") is not None) is allowed


async def test_a_used_up_response_url_is_logged_not_apologised_for(make_bot, fake, caplog):
    bot = make_bot()
    value = buttons(await bot.command("3"))["Cancel"]["value"]
    url = fake.response_url("btn")
    async with aiohttp.ClientSession() as session:
        for _ in range(5):  # someone (Slack's other clients) used it up
            await session.post(url, json={"text": "x"})
    fake.clear()

    with caplog.at_level(logging.WARNING):
        await bot.dispatch(block_actions_body(ACTION_CANCEL, value, response_url=url))
        await bot.settle()

    assert fake.responses == []
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage() == "response_url refused the message (HTTP 404)"


async def test_every_answer_over_the_real_corpus_fits_slacks_limits(fake, storage):
    bot = Bot(fake, settings_for(fake), make_service(storage, corpus=load_corpus()))

    for text in ("list", "help", "search the", "today", "70", ""):
        answer = await bot.command(text)
        assert message_problem(answer) is None, text
        await bot.dispatch(event_body(app_mention_event(text), event_id=f"Ev-{text}"))
    await bot.settle()

    assert fake.calls_to("chat.postMessage") + fake.calls_to("chat.postEphemeral")
    assert [c.error for c in fake.calls if not c.ok] == []


@pytest.mark.parametrize(
    "refuse",
    [
        ("not_in_channel", None),
        ("channel_not_found", None),
        ("is_archived", None),
        ("restricted_action", None),
        ("ratelimited", 2),  # the first call and slack_sdk's one retry
    ],
    ids=lambda refuse: refuse[0],
)
async def test_a_nan_answer_slack_refuses_is_one_warning_line(make_bot, fake, caplog, refuse):
    code, rate_limited_calls = refuse
    bot = make_bot()
    if rate_limited_calls is None:
        fake.fail_next("chat.postMessage", error=code)
    else:
        fake.rate_limit_next("chat.postMessage", retry_after=0, times=rate_limited_calls)

    with caplog.at_level(logging.WARNING):
        await bot.dispatch(event_body(message_event("my loss is NaN again")))
        await bot.settle()

    assert fake.calls_to("chat.postMessage", ok=True) == []
    assert len(fake.calls_to("chat.postMessage", ok=False)) == (rate_limited_calls or 1)
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.levelno == logging.WARNING
    assert warning.getMessage() == f"cannot answer in slack channel C1 ({code})"
    assert warning.exc_info is None


async def test_a_nan_answer_slack_finds_malformed_is_still_an_error(make_bot, fake, caplog):
    bot = make_bot()
    fake.fail_next("chat.postMessage", error="invalid_blocks")  # our bug, not the channel's

    with caplog.at_level(logging.WARNING):
        await bot.dispatch(event_body(message_event("my loss is NaN again")))
        await bot.settle()

    [error] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert error.levelno == logging.ERROR
    assert error.getMessage().startswith("slack message failed (ref ")
    assert error.exc_info is not None
