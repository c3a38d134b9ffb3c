"""`DiscordPlatform` running: the Message Content fallback, reconnects, whole processes.

The `maxim-bot` process tests start the real command with the emulator's URLs in its env.
"""

from __future__ import annotations

import logging

import pytest

from bot.platforms.discord.connection import MESSAGE_CONTENT_REFUSED
from tests.bot.bot_process import BotProcess, starts_bot_process
from tests.bot.platforms.discord.helpers import (
    HARD_TIMEOUT,
    NAN_NUMBERS,
    client_of,
    make_service,
    process_env,
    puts,
    run_command,
    running,
    settings_for,
    write_discord_config,
)
from tests.fakes.discord.gateway_wire import INTENT_MESSAGE_CONTENT

# ------------------------------------------------------------------------------ connection


@pytest.mark.parametrize("shards", [None, "auto"], ids=["client", "auto-sharded"])
async def test_without_message_content_it_says_how_to_enable_it_and_keeps_working(
    fake, storage, caplog, shards
):
    fake.allow_message_content = False  # the developer portal's switch is off
    async with running(settings_for(fake, shards=shards), make_service(storage)) as platform:
        callback = await run_command(fake, client_of(platform), "maxim", {"query": "34"})
        assert platform.healthy() is False  # no scheduler in this test
        assert not client_of(platform).intents.message_content

    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [MESSAGE_CONTENT_REFUSED]
    assert "Bot > Privileged Gateway Intents" in MESSAGE_CONTENT_REFUSED
    first, second = fake.identify_payloads
    assert first["intents"] & INTENT_MESSAGE_CONTENT
    assert not second["intents"] & INTENT_MESSAGE_CONTENT
    assert fake.gateway_connections[0].close_code == 4014
    assert callback.data is not None and callback.data["embeds"][0]["title"] == "#34"
    assert len(puts(fake)) == 1  # the commands were not synced twice


async def test_a_gateway_drop_mid_session_resumes_and_the_bot_still_answers(fake, storage):
    async with running(settings_for(fake), make_service(storage)):
        await fake.drop_connection(None)  # TCP reset, no close frame
        missed = await fake.send_message(content="loss is NaN")  # sent while disconnected
        await fake.wait_resumed(count=1)
        [reply] = await fake.wait_for_messages(1)
        assert reply.message_reference is not None
        assert int(reply.message_reference["message_id"]) == missed

        await fake.send_reconnect()  # Discord's "please reconnect" (op 7)
        await fake.wait_resumed(count=2)
        interaction_id = await fake.send_command("maxim", {"query": "list"})
        assert (await fake.wait_for_callback(interaction_id)).ephemeral
    assert (fake.identify_count, fake.resume_count) == (1, 2)


# ------------------------------------------------------------------------------ whole processes


@starts_bot_process
async def test_the_whole_bot_runs_on_discord_and_stops_on_sigterm(fake, tmp_path):
    write_discord_config(tmp_path, fake)
    bot = await BotProcess.start(tmp_path, process_env(fake), "run")
    try:
        await bot.wait_for_line("maxim-bot running on discord")
        interaction_id = await fake.send_command("maxim", {"query": "34"})
        callback = await fake.wait_for_callback(interaction_id, timeout=HARD_TIMEOUT)
        await fake.send_message(content="loss is NaN")
        [reply] = await fake.wait_for_messages(1, timeout=HARD_TIMEOUT)
        code, _ = await bot.end()
    finally:
        bot.kill()

    assert callback.ephemeral and callback.data is not None
    assert callback.data["embeds"][0]["title"] == "#34"
    assert int(reply.embeds[0]["title"].lstrip("#")) in NAN_NUMBERS
    assert code == 0, bot.text
    assert "Traceback" not in bot.text
    assert "maxim-bot stopped" in bot.text
    assert fake.token not in bot.text


@starts_bot_process
async def test_the_whole_bot_with_a_bad_token_exits_2_with_one_line(fake, tmp_path):
    write_discord_config(tmp_path, fake)
    bot = await BotProcess.start(tmp_path, process_env(fake, token="revoked-token"), "run")
    try:
        code, _ = await bot.end(terminate=False)
    finally:
        bot.kill()
    assert code == 2
    assert "DISCORD_TOKEN was rejected (401 Unauthorized)" in bot.only_error()


async def test_an_invalidated_session_identifies_afresh_and_the_bot_still_answers(fake, storage):
    async with running(settings_for(fake), make_service(storage)):
        await fake.invalidate_session()  # op 9, not resumable
        # discord.py waits 5 s before identifying again (Discord's identify rate limit).
        await fake.wait_ready(count=2, timeout=HARD_TIMEOUT)
        message_id = await fake.send_message(content="loss is NaN")
        [reply] = await fake.wait_for_messages(1)
    assert reply.message_reference is not None
    assert int(reply.message_reference["message_id"]) == message_id
    assert (fake.identify_count, fake.resume_count) == (2, 0)
    assert [c.path for c in fake.gateway_connections] == ["/gateway", "/gateway"]
