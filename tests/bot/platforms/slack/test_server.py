"""HTTP mode: the aiohttp server in front of Bolt, on 127.0.0.1 with a free port.

Requests are signed like Slack's and sent over a real socket to the platform's server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

import aiohttp
import pytest

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.platforms.slack.lifecycle import SlackPlatform
from bot.storage import Storage
from tests.bot.platforms.slack.helpers import (
    SECRET,
    healthz,
    make_service,
    platform_for,
    post,
    send,
    settings_for,
)
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.payloads import (
    app_mention_event,
    block_actions_body,
    event_body,
    message_event,
    sign,
    slash_command_body,
    url_verification_body,
)


async def test_http_mode_serves_signed_requests_on_the_real_server(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="http"), storage))
    assert platform.port

    status, body = await post(
        platform.port, slash_command_body("2", response_url=fake.response_url())
    )
    challenge = await post(platform.port, url_verification_body("ch-42"))

    assert status == 200
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Preview. Maxim 2:")
    assert challenge == (200, json.dumps({"challenge": "ch-42"}))


async def test_search_for_the_word_payload_works_over_http(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="http"), storage))

    status, body = await post(platform.port, slash_command_body("search payload"))

    assert status == 200  # bolt alone would misread the form and answer 404
    assert "“payload”" in json.loads(body)["text"]


async def test_bad_and_stale_signatures_are_refused_with_401(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="http"), storage))
    built = slash_command_body("2")

    forged = await post(platform.port, built, secret="not-the-secret")
    stale = await post(platform.port, built, timestamp=int(time.time()) - 600)

    # The server is the one check (Bolt's own is off: it would only repeat it).
    assert forged[0] == stale[0] == 401
    # Refused before bolt's authorization: only the start-up auth.test reached Slack.
    assert [call.method for call in fake.calls] == ["auth.test"]


async def test_buttons_and_events_over_http(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="http"), storage))

    clicked = await post(
        platform.port,
        block_actions_body("maxim_cancel", "number|2|0|", response_url=fake.response_url("b")),
    )
    mentioned = await post(platform.port, event_body(app_mention_event("3"), event_id="EvM"))
    [(_, removed)] = await fake.wait_for_response(name="b")
    [answer] = await fake.wait_for("chat.postMessage")

    assert clicked == (200, "")
    assert mentioned == (200, "")
    assert removed["delete_original"] is True
    assert answer.body["text"].startswith("Maxim 3:")


async def test_healthz_is_ok_only_while_serving_with_a_running_scheduler(fake, storage, started):
    service = make_service(storage)
    settings = settings_for(fake, mode="http")
    schedulers: list[DailyScheduler] = []
    platform = SlackPlatform(
        service,
        settings.slack,
        settings.secrets,
        healthy=lambda: bool(schedulers) and schedulers[0].running,
    )
    await started(platform)
    assert await healthz(platform.port) == 503  # no scheduler yet

    scheduler = DailyScheduler(
        storage=storage,
        posters={"slack": platform.poster},
        corpus=service.corpus,
        config=ScheduleConfig(),
        clock=service.clock,
    )
    schedulers.append(scheduler)
    await scheduler.start()
    try:
        assert await healthz(platform.port) == 200
        assert await platform.connected()
    finally:
        await scheduler.stop()
    assert await healthz(platform.port) == 503
    await platform.stop()
    assert not platform.healthy()
    assert not await platform.connected()


# ------------------------------------------------------------------------------ verification


@pytest.fixture
async def internal():
    """A second loopback server standing for an internal admin URL: it records every POST."""
    async with FakeSlack() as server:
        yield server


@pytest.fixture
async def server(fake, storage, started):
    return await started(platform_for(settings_for(fake), storage))


def nothing_reached(fake: FakeSlack, internal: FakeSlack) -> bool:
    """Only the start-up auth.test reached Slack, and nothing reached the internal server."""
    return (
        [c.method for c in fake.calls] == ["auth.test"]
        and fake.responses == []
        and internal.responses == []
        and internal.calls == []
    )


def form(response_url: str) -> bytes:
    return slash_command_body("2", response_url=response_url).body.encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def test_a_non_numeric_timestamp_is_refused_before_anything_reads_the_body(
    fake, internal, server, caplog
):
    body = form(internal.response_url("admin"))
    headers = {**FORM, "X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}

    with caplog.at_level(logging.DEBUG):
        status, _, _ = await send(server.port, body, headers)
    await server.background.drain(timeout=5)

    assert status == 401
    assert nothing_reached(fake, internal)
    assert "Something went wrong" not in caplog.text  # never the error handler's apology
    assert "Traceback" not in caplog.text


def bad_signatures(body: bytes) -> dict[str, dict[str, str]]:
    """Every way the two headers can be wrong, for `body`."""
    now = int(time.time())
    good = sign(SECRET, body, now)["X-Slack-Signature"]
    stale = now - 301
    return {
        "none": {},
        "no signature": {"X-Slack-Request-Timestamp": str(now)},
        "no timestamp": {"X-Slack-Signature": good},
        "wrong signature": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": "v0=" + "0" * 64,
        },
        "not lower-case hex": {
            "X-Slack-Request-Timestamp": str(now),
            "X-Slack-Signature": good.upper(),
        },
        "not v0": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v1=" + good[3:]},
        "no prefix": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": good[3:]},
        "stale": {
            "X-Slack-Request-Timestamp": str(stale),
            "X-Slack-Signature": sign(SECRET, body, stale)["X-Slack-Signature"],
        },
        "from the future": {
            "X-Slack-Request-Timestamp": str(now + 301),
            "X-Slack-Signature": sign(SECRET, body, now + 301)["X-Slack-Signature"],
        },
        "float timestamp": {"X-Slack-Request-Timestamp": f"{now}.0", "X-Slack-Signature": good},
        "huge timestamp": {"X-Slack-Request-Timestamp": "9" * 40, "X-Slack-Signature": good},
    }


BAD_SIGNATURES = list(bad_signatures(b""))


@pytest.mark.parametrize("case", BAD_SIGNATURES)
async def test_unsigned_stale_and_malformed_signatures_get_401_and_reach_nothing(
    fake, internal, server, case
):
    body = form(internal.response_url("admin"))

    status, _, _ = await send(server.port, body, {**FORM, **bad_signatures(body)[case]})
    await server.background.drain(timeout=5)

    assert status == 401
    assert nothing_reached(fake, internal)


def signed(body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return {"Content-Type": content_type, **sign(SECRET, body)}


MALFORMED = [
    (b"{not json", "application/json"),
    (b"payload={bad", "application/x-www-form-urlencoded"),
    (b"payload=%5B1%5D", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00command=/maxim", "application/x-www-form-urlencoded"),
    (b"[1, 2]", "application/json"),
    (b"[1, 2]", "application/x-www-form-urlencoded"),
    (b'"text"', "application/json"),
    # Deeper than the parser can recurse (a 500 and a traceback, once), and deeper than Slack
    # nests anything, in an Events API body and in an interaction's payload.
    (b'{"a":' * 5000 + b"1" + b"}" * 5000, "application/json"),
    (b'{"event":' + b"[" * 900 + b"]" * 900 + b"}", "application/json"),
    (b"payload=" + b"%5B" * 5000 + b"%5D" * 5000, "application/x-www-form-urlencoded"),
    (b"payload=%7B%22a%22%3A" + b"%5B" * 900 + b"%5D" * 900 + b"%7D", FORM["Content-Type"]),
]
MALFORMED_IDS = [
    "bad json",
    "bad payload",
    "payload array",
    "not utf-8",
    "array",
    "array form",
    "str",
    "json too deep to parse",
    "json deeper than slack nests",
    "payload too deep to parse",
    "payload deeper than slack nests",
]


@pytest.mark.parametrize(("body", "content_type"), MALFORMED, ids=MALFORMED_IDS)
async def test_a_malformed_body_unsigned_is_401(fake, internal, server, body, content_type):
    status, _, _ = await send(server.port, body, {"Content-Type": content_type})

    assert status == 401
    assert nothing_reached(fake, internal)


@pytest.mark.parametrize(("body", "content_type"), MALFORMED, ids=MALFORMED_IDS)
async def test_a_signed_malformed_body_is_400_with_one_warning_and_no_traceback(
    fake, internal, server, caplog, body, content_type
):
    with caplog.at_level(logging.DEBUG):
        status, _, _ = await send(server.port, body, signed(body, content_type))
    await server.background.drain(timeout=5)

    assert status == 400
    assert nothing_reached(fake, internal)
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.name == "bot.platforms.slack.server"
    assert warning.exc_info is None
    assert "Traceback" not in caplog.text


async def test_a_body_over_256_kib_is_413(fake, internal, server):
    text = "x" * (256 * 1024)
    body = slash_command_body(text).body.encode()

    status, _, _ = await send(server.port, body, signed(body, FORM["Content-Type"]))

    assert status == 413
    assert nothing_reached(fake, internal)


async def test_a_body_of_almost_256_kib_is_served(fake, server):
    head = slash_command_body("").body.encode()
    body = head + b"&pad=" + b"x" * (256 * 1024 - len(head) - 5)
    assert len(body) == 256 * 1024

    status, text, _ = await send(server.port, body, signed(body, FORM["Content-Type"]))

    assert status == 200
    assert json.loads(text)["response_type"] == "ephemeral"


async def test_no_response_names_the_server_software(server):
    body = form("https://hooks.slack.com/x")
    answers = [
        await send(server.port, body, signed(body, FORM["Content-Type"])),
        await send(server.port, body, FORM),  # 401
        await send(server.port, b"{", signed(b"{")),  # 400
        await send(server.port, b"", {}, path="/nowhere"),  # 404
    ]
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}/healthz") as health,
    ):
        answers.append((health.status, "", dict(health.headers)))

    assert [status for status, _, _ in answers] == [200, 401, 400, 404, 503]
    for _, _, headers in answers:
        assert "Server" not in headers, headers


# ------------------------------------------------------------------------------ replays


async def test_a_replayed_signed_request_is_refused(fake, server):
    # `/maxim 2` only answers in the HTTP response: remembered in this process's memory.
    body = form(fake.response_url("cmd"))
    headers = signed(body, FORM["Content-Type"])

    first = await send(server.port, body, headers)
    again = await send(server.port, body, headers)
    fresh = await send(
        server.port,
        body,
        signed(body, FORM["Content-Type"])
        | {
            "X-Slack-Request-Timestamp": str(int(time.time()) + 1),
            "X-Slack-Signature": sign(SECRET, body, int(time.time()) + 1)["X-Slack-Signature"],
        },
    )

    assert first[0] == 200
    assert again[0] == 401
    assert fresh[0] == 200  # Slack's own retries are signed anew: they pass


async def test_a_slack_retry_signed_in_the_same_second_is_acknowledged_and_answered_once(
    fake, server
):
    # Slack redelivers an event it saw no answer to in time, with the same body; signed in the
    # same second it carries the same signature. A 401 there is a failed delivery to Slack
    # (enough of them and it turns the app's events off): it gets 200, and the event id
    # keeps it from being answered twice.
    url = f"http://127.0.0.1:{server.port}/slack/events"
    nan = event_body(message_event("my loss is NaN again"), event_id="EvRetry")
    second = int(time.time())

    first = await fake.deliver(url, nan, SECRET, timestamp=second)
    retry = await fake.deliver(url, nan, SECRET, timestamp=second, retry=(1, "http_timeout"))
    await fake.wait_for("chat.postMessage")
    await server.background.drain(timeout=5)

    assert first == retry == (200, "")
    assert fake.failed_deliveries == []
    assert len(fake.calls_to("chat.postMessage")) == 1


async def test_a_request_that_acts_replayed_to_another_process_is_refused(
    fake, sqlite_url, started
):
    # A button press posts or edits on Slack: a replay must fail in every process, so it is
    # remembered in storage (a read-only `/maxim 2` is answered only to its sender).
    press = block_actions_body("maxim_cancel", "number|2|0|", response_url=fake.response_url("b"))
    body = press.body.encode()
    headers = signed(body, FORM["Content-Type"])
    settings = settings_for(fake)
    async with await Storage.open(sqlite_url) as one, await Storage.open(sqlite_url) as two:
        first = await started(platform_for(settings, one))
        second = await started(platform_for(settings, two))

        answers = [await send(p.port, body, headers) for p in (first, second)]
        await first.stop()
        await second.stop()

    assert [status for status, _, _ in answers] == [200, 401]


# ------------------------------------------------------------------------------ Slack's deadline


async def test_a_slow_daily_change_is_still_answered_in_time_over_http(fake, server):
    # Slack shows the user an error when the Request URL takes over 3 s: the bot answers
    # "working on it" first, then through the response_url once users.info answers.
    fake.users["UADMIN"] = {"is_admin": True}
    gate = fake.hold_next("users.info")
    url = f"http://127.0.0.1:{server.port}/slack/events"
    command = slash_command_body(
        "daily 09:00", user_id="UADMIN", response_url=fake.response_url("cmd")
    )

    answer = await fake.deliver(url, command, SECRET)
    gate.set()
    [(_, later)] = await fake.wait_for_response(name="cmd")

    assert answer is not None
    assert (answer[0], json.loads(answer[1])["text"]) == (200, "Working on it…")
    assert fake.http_timeouts == []
    assert "daily at 09:00" in later["text"]


@pytest.mark.parametrize(
    "raw",
    [
        b"GARBAGE\r\n\r\n",
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    ],
    ids=["not http", "bad content-length"],
)
async def test_malformed_http_is_400_with_one_warning_and_no_traceback(server, caplog, raw):
    with caplog.at_level(logging.DEBUG):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(raw)
        await writer.drain()
        answer = await reader.read()  # aiohttp closes after a protocol error
        writer.close()
        await writer.wait_closed()

    assert answer.startswith(b"HTTP/1.0 400 ")
    assert b"\r\nserver:" not in answer.lower()  # aiohttp's own answer names no software
    noted = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(noted) <= 1  # aiohttp notes some, not all; never more than one line
    for record in noted:
        assert (record.levelname, record.exc_info) == ("WARNING", None)
        assert "malformed HTTP" in record.getMessage()
    assert "Traceback" not in caplog.text
