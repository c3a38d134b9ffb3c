"""Slack as a running platform: Socket Mode, start-up errors, whole processes.

Everything listens on 127.0.0.1 with free ports and stops by itself. The fake's Socket Mode
websocket sends envelopes and records the acks; HTTP requests are signed like Slack's.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
from pathlib import Path

import pytest

from bot.config import Settings
from bot.platforms import StartupError
from bot.platforms.slack.app import build_slack_app
from tests.bot.bot_process import BotProcess, clean_env, starts_bot_process, write_config
from tests.bot.platforms.slack.helpers import (
    APP_TOKEN,
    BOT_TOKEN,
    CORPUS,
    SECRET,
    healthz,
    make_service,
    platform_for,
    post,
    settings_for,
)
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.payloads import (
    block_actions_payload,
    event_payload,
    message_event,
    slash_command_body,
    slash_command_payload,
)

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
    assert by_text["9.9"]["text"] == f"Maxim 2: {CORPUS.get(2).text}"  # seeded: a NaN maxim
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
    ],
    ids=[
        "bad bot token",
        "app token as bot token",
        "bad app token",
        "bot token as app token",
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


@starts_bot_process
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


@starts_bot_process
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


@starts_bot_process
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


# ------------------------------------------------------------------------------ Slack's deadlines


async def test_a_slow_daily_change_is_still_acked_in_time_over_socket_mode(fake, storage, started):
    # Slack counts an envelope not acknowledged within 3 s as failed: the bot must say
    # "working on it" first and answer through the response_url once users.info answers.
    fake.users["UADMIN"] = {"is_admin": True}
    await started(platform_for(settings_for(fake, mode="socket"), storage))
    gate = fake.hold_next("users.info")
    url = fake.response_url("cmd")

    ack = await fake.socket_send(
        "slash_commands",
        slash_command_payload("daily 09:00", user_id="UADMIN", response_url=url),
    )
    gate.set()
    [(_, later)] = await fake.wait_for_response(name="cmd")

    assert ack["payload"] == {"response_type": "ephemeral", "text": "Working on it…"}
    assert fake.socket_failures == []
    assert "daily at 09:00" in later["text"]
    sub = await storage.get_subscription("slack", "C1")
    assert (sub.time, sub.timezone, sub.set_by) == (dt.time(9, 0), "UTC", "UADMIN")


async def test_a_redelivered_socket_event_is_answered_once(fake, storage, started):
    await started(platform_for(settings_for(fake, mode="socket"), storage))
    payload = event_payload(message_event("NaN again", ts="7.7"), event_id="EvRetry")

    first = await fake.socket_send("events_api", payload, accepts_response_payload=False)
    again = await fake.socket_send(
        "events_api",
        payload,
        accepts_response_payload=False,
        retry_attempt=1,
        retry_reason="timeout",
    )
    await fake.wait_for("chat.postMessage")
    await fake.wait_until(lambda: fake.pending_acks == 0, "every ack deadline settled")

    assert first["envelope_id"] != again["envelope_id"]
    assert len(fake.calls_to("chat.postMessage")) == 1
    assert fake.socket_failures == []
