"""HTTP mode under a flood of connections: Slack's requests are still answered.

Through the real server, Bolt and the emulator, with the ``[server]`` limits made small.
"""

from __future__ import annotations

import asyncio
import json
import logging

from bot.config import ServerConfig
from bot.platforms.slack.lifecycle import SlackPlatform
from tests.bot.platforms.slack.helpers import SECRET, make_service, settings_for
from tests.fakes.slack.payloads import event_body, message_event, slash_command_body


async def test_idle_connections_past_the_cap_do_not_keep_slack_out(fake, storage, started):
    settings = settings_for(fake)
    platform = await started(
        SlackPlatform(
            make_service(storage),
            settings.slack,
            settings.secrets,
            limits=ServerConfig(max_connections=4),
        )
    )
    url = f"http://127.0.0.1:{platform.port}/slack/events"
    idle = [await asyncio.open_connection("127.0.0.1", platform.port) for _ in range(8)]

    command = await fake.deliver(url, slash_command_body("2"), SECRET)
    nan = await fake.deliver(url, event_body(message_event("NaN again")), SECRET)
    await fake.wait_for("chat.postMessage")

    assert command is not None and json.loads(command[1])["text"].startswith("Preview. Maxim 2")
    assert nan == (200, "")
    assert fake.http_timeouts == fake.failed_deliveries == []
    for _, writer in idle:
        writer.close()


async def test_a_stalled_upload_to_slack_http_is_408_and_one_warning(
    fake, storage, started, caplog
):
    settings = settings_for(fake)
    platform = await started(
        SlackPlatform(
            make_service(storage),
            settings.slack,
            settings.secrets,
            limits=ServerConfig(body_timeout_seconds=0.2),
        )
    )
    with caplog.at_level(logging.DEBUG):
        reader, writer = await asyncio.open_connection("127.0.0.1", platform.port)
        writer.write(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 262144\r\n\r\n{")
        async with asyncio.timeout(10):
            answer = await reader.read()
        writer.close()

    assert answer.startswith(b"HTTP/1.1 408 ")
    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert warning.getMessage().startswith("Slack HTTP: closed a stalled upload (1 of 262144")
    assert warning.exc_info is None and "Traceback" not in caplog.text
