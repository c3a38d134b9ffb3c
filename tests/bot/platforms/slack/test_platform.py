"""Slack as a running platform: the HTTP server, Socket Mode, start-up errors, whole processes.

Everything listens on 127.0.0.1 with free ports and stops by itself. The fake's Socket Mode
websocket sends envelopes and records the acks; HTTP requests are signed like Slack's.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import ScheduleConfig, Settings
from bot.daily.scheduler import DailyScheduler
from bot.platforms import StartupError
from bot.platforms.slack.lifecycle import SlackPlatform, build_slack_app
from bot.storage import Storage
from tests.bot.bot_process import BotProcess, clean_env, needs_bot, write_config
from tests.bot.platforms.slack.helpers import (
    APP_TOKEN,
    BOT_TOKEN,
    SECRET,
    make_service,
)
from tests.fakes.slack.api import (
    FakeSlack,
    app_mention_event,
    block_actions_body,
    block_actions_payload,
    event_body,
    event_payload,
    message_event,
    slash_command_body,
    slash_command_payload,
    url_verification_body,
)


@pytest.fixture(autouse=True)
def no_slack_env(monkeypatch):
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake():
    async with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as server:
        yield server


def settings_for(fake: FakeSlack, *, secrets: dict[str, str] | None = None, **slack: Any):
    return Settings.model_validate(
        {
            "slack": {"api_url": fake.url, "http_port": 0, **slack},
            "secrets": secrets
            if secrets is not None
            else {
                "slack_bot_token": BOT_TOKEN,
                "slack_app_token": APP_TOKEN,
                "slack_signing_secret": SECRET,
            },
        }
    )


def platform_for(settings: Settings, storage: Storage, **options: Any) -> SlackPlatform:
    """The Slack platform as the composition root builds it, over the test service."""
    return SlackPlatform(make_service(storage), settings.slack, settings.secrets, **options)


@pytest.fixture
async def started():
    """Start platforms and always stop them."""
    platforms: list[SlackPlatform] = []

    async def start(platform: SlackPlatform) -> SlackPlatform:
        platforms.append(platform)
        await platform.start()
        return platform

    yield start
    for platform in platforms:
        await platform.stop()


# ------------------------------------------------------------------------------ HTTP mode


async def post(port: int, built, *, secret: str = SECRET, timestamp: int | None = None):
    headers = built.headers(secret, timestamp)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/slack/events", data=built.body.encode(), headers=headers
        ) as response,
    ):
        return response.status, await response.text()


async def healthz(port: int) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status


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
    via_dispatch = await platform.app.async_dispatch(
        built.bolt_request("not-the-secret")  # the same check without the server
    )

    assert forged[0] == stale[0] == via_dispatch.status == 401
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


# ------------------------------------------------------------------------------ Socket Mode


async def test_socket_mode_acks_commands_buttons_and_events(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="socket"), storage))
    await fake.wait_socket_connected()
    assert await platform.connected()
    assert platform.port is None  # no HTTP server in Socket Mode

    command = await fake.socket_send("slash_commands", slash_command_payload("4"))
    button = await fake.socket_send(
        "interactive",
        block_actions_payload("maxim_post", "number|4|0|", response_url=fake.response_url("b")),
    )
    event = await fake.socket_send(
        "events_api",
        event_payload(message_event("NaN again", ts="9.9"), event_id="EvS"),
        accepts_response_payload=False,
    )
    shared, threaded = await fake.wait_for("chat.postMessage", count=2)
    [(_, removed)] = await fake.wait_for_response(name="b")

    assert command["payload"]["response_type"] == "ephemeral"
    assert command["payload"]["text"].startswith("Preview. Maxim 4:")
    assert "payload" not in button  # buttons answer through the response_url only
    assert "payload" not in event
    by_text = {c.body.get("thread_ts"): c.body for c in (shared, threaded)}
    assert "shared by <@U1>" in json.dumps(by_text[None]["blocks"])
    assert by_text["9.9"]["text"].startswith(("Maxim 2:", "Maxim 4:"))
    assert removed["delete_original"] is True
    [opened] = fake.calls_to("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"


async def test_socket_mode_reconnects_when_slack_asks(fake, storage, started):
    await started(platform_for(settings_for(fake, mode="socket"), storage))
    await fake.wait_socket_connected()

    await fake.socket_disconnect()  # Slack's periodic refresh_requested
    ack = await fake.socket_send("slash_commands", slash_command_payload("help"))

    assert "/maxim search WORDS" in json.dumps(ack["payload"])
    assert fake.socket_connections == 2


# ------------------------------------------------------------------------------ start-up


@pytest.mark.parametrize(
    ("secrets", "mode", "expected"),
    [
        (
            {"slack_bot_token": "xoxb-wrong", "slack_signing_secret": SECRET},
            "http",
            "Slack: SLACK_BOT_TOKEN was rejected (invalid_auth)",
        ),
        (
            {"slack_bot_token": APP_TOKEN, "slack_signing_secret": SECRET},
            "http",
            "Slack: SLACK_BOT_TOKEN is not a bot token (not_allowed_token_type)",
        ),
        (
            {"slack_bot_token": BOT_TOKEN, "slack_app_token": "xapp-wrong"},
            "socket",
            "Slack: SLACK_APP_TOKEN was rejected (invalid_auth)",
        ),
        (
            {"slack_bot_token": BOT_TOKEN, "slack_app_token": BOT_TOKEN},
            "socket",
            "Slack: SLACK_APP_TOKEN is not an app-level token (not_allowed_token_type)",
        ),
        ({"slack_bot_token": BOT_TOKEN}, "http", "Slack: HTTP mode needs SLACK_SIGNING_SECRET"),
        ({"slack_bot_token": BOT_TOKEN}, "socket", "Slack: Socket Mode needs SLACK_APP_TOKEN"),
    ],
    ids=[
        "bad bot token",
        "app token as bot token",
        "bad app token",
        "bot token as app token",
        "no signing secret",
        "no app token",
    ],
)
async def test_start_up_problems_are_one_clear_line(fake, storage, secrets, mode, expected):
    platform = platform_for(settings_for(fake, secrets=secrets, mode=mode), storage)
    try:
        with pytest.raises(StartupError) as caught:
            await platform.start()
    finally:
        await platform.stop()

    assert str(caught.value).startswith(expected)
    assert "\n" not in str(caught.value)
    assert fake.socket_connections == 0


async def test_an_unreachable_slack_is_a_startup_error(storage):
    with socket.socket() as unused:  # a port nobody listens on once it is closed
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    settings = Settings.model_validate(
        {
            "slack": {"api_url": f"http://127.0.0.1:{port}/api/", "mode": "http"},
            "secrets": {"slack_bot_token": BOT_TOKEN, "slack_signing_secret": SECRET},
        }
    )
    from slack_sdk.web.async_client import AsyncWebClient

    quick = AsyncWebClient(token=BOT_TOKEN, base_url=settings.slack.api_url, retry_handlers=[])
    platform = platform_for(settings, storage, client=quick)

    with pytest.raises(StartupError, match=r"cannot reach the Web API at http://127\.0\.0\.1"):
        await platform.start()
    await platform.stop()


async def test_a_taken_port_is_a_startup_error(fake, storage):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        platform = platform_for(settings_for(fake, mode="http", http_port=port), storage)
        with pytest.raises(StartupError, match=rf"cannot listen on 127\.0\.0\.1:{port}"):
            await platform.start()
        await platform.stop()


async def test_bolt_never_reads_slack_variables_itself(fake, storage, monkeypatch, caplog):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "secret-from-env")
    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")  # would turn on bolt's multi-workspace OAuth
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "shh")
    settings = settings_for(fake, mode="http")

    with caplog.at_level(logging.WARNING):
        app = build_slack_app(make_service(storage), settings.slack, settings.secrets)

    assert app.oauth_flow is None
    assert app.client.token == BOT_TOKEN
    assert [r for r in caplog.records if r.name.startswith("slack_bolt")] == []
    assert os.environ["SLACK_CLIENT_ID"] == "1.2"  # put back afterwards
    response = await app.async_dispatch(slash_command_body("2").bolt_request(SECRET))
    assert response.status == 200


# ------------------------------------------------------------------------------ whole processes


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def process_env(fake: FakeSlack, **secrets: str) -> dict[str, str]:
    return clean_env(SLACK_API_URL=fake.url, **secrets)


async def start_bot(tmp_path: Path, config: str, env: dict[str, str]) -> BotProcess:
    write_config(tmp_path, config)
    return await BotProcess.start(tmp_path, env, "run")


@needs_bot
async def test_the_whole_bot_in_http_mode(fake, tmp_path):
    port = free_port()
    bot = await start_bot(
        tmp_path,
        f'[slack]\nmode = "http"\nhttp_port = {port}\n',
        process_env(fake, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET),
    )
    try:
        await bot.wait_for_line("maxim-bot running on slack")
        status, body = await post(port, slash_command_body("34"))
        health = await healthz(port)
        code, _ = await bot.end()
    finally:
        bot.kill()

    assert status == 200
    assert json.loads(body)["text"].startswith("Preview. Maxim 34: If you’re seeing NaN")
    assert health == 200
    assert code == 0, bot.text
    assert "Traceback" not in bot.text
    assert "maxim-bot stopped" in bot.text


@needs_bot
async def test_the_whole_bot_in_socket_mode(fake, tmp_path):
    bot = await start_bot(
        tmp_path,
        '[slack]\nmode = "socket"\n',
        process_env(fake, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=APP_TOKEN),
    )
    try:
        await bot.wait_for_line("maxim-bot running on slack")
        await fake.wait_socket_connected()
        ack = await fake.socket_send("slash_commands", slash_command_payload("list"))
        code, _ = await bot.end()
    finally:
        bot.kill()

    assert ack["payload"]["response_type"] == "ephemeral"
    assert "The Seventy Maxims" in json.dumps(ack["payload"])
    assert code == 0, bot.text
    assert "Traceback" not in bot.text


@needs_bot
async def test_a_bad_token_ends_the_bot_with_one_line_and_status_2(fake, tmp_path):
    bot = await start_bot(
        tmp_path,
        '[slack]\nmode = "http"\nhttp_port = 0\n',
        process_env(fake, SLACK_BOT_TOKEN="xoxb-revoked", SLACK_SIGNING_SECRET=SECRET),
    )
    try:
        code, _ = await bot.end(terminate=False)
    finally:
        bot.kill()

    assert code == 2
    assert "SLACK_BOT_TOKEN was rejected (invalid_auth)" in bot.only_error()
