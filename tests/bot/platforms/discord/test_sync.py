"""Command sync: only when the tree changed, guild or global; a refusal does not stop the bot."""

from __future__ import annotations

import asyncio
import re

from bot.platforms.discord.client import MAX_RATE_LIMIT_WAIT
from bot.platforms.discord.sync import COMMAND_META_KEY, sync_commands
from tests.bot.platforms.discord.helpers import (
    HARD_TIMEOUT,
    client_of,
    make_service,
    puts,
    run_command,
    running,
    settings_for,
)


async def test_commands_sync_only_when_the_tree_changed(fake, storage):
    settings = settings_for(fake)
    guild_path = f"/applications/{fake.application_id}/guilds/{fake.default_guild_id}/commands"
    for _ in range(2):
        async with running(settings, make_service(storage)):
            pass
    assert puts(fake) == [guild_path]  # the second start found the same hash

    key = COMMAND_META_KEY.format(application=fake.application_id, scope=fake.default_guild_id)
    await storage.set_meta(key, "hash-of-an-older-tree")
    async with running(settings, make_service(storage)) as platform:
        assert await sync_commands(client_of(platform), storage, [fake.default_guild_id]) == []
    assert puts(fake) == [guild_path, guild_path]


async def test_without_guild_ids_commands_sync_globally(fake, storage):
    settings = settings_for(fake, guild_ids=[])
    async with running(settings, make_service(storage)) as platform:
        callback = await run_command(fake, client_of(platform), "maxim", {"query": "40"})
    assert puts(fake) == [f"/applications/{fake.application_id}/commands"]
    assert {c["name"] for c in fake.synced_commands[None]} == {"maxim", "maxim-daily"}
    assert callback.data is not None and callback.data["embeds"][0]["title"] == "#40"


async def test_a_refused_sync_is_a_warning_and_the_bot_still_starts(fake, storage, caplog):
    fake.fail_next(
        "PUT", re.compile(r"/commands$"), status=403, body={"message": "no", "code": 50001}
    )
    async with running(settings_for(fake), make_service(storage)):
        pass
    assert "invite the bot with the applications.commands scope" in caplog.text
    key = COMMAND_META_KEY.format(application=fake.application_id, scope=fake.default_guild_id)
    assert await storage.get_meta(key) is None  # tried again at the next start


async def test_a_rate_limited_sync_is_a_warning_and_the_bot_still_starts(fake, storage, caplog):
    fake.rate_limit_next("PUT", re.compile(r"/commands$"), retry_after=MAX_RATE_LIMIT_WAIT + 540)
    async with asyncio.timeout(HARD_TIMEOUT), running(settings_for(fake), make_service(storage)):
        pass
    assert f"is rate-limited for {MAX_RATE_LIMIT_WAIT + 540:.0f} s" in caplog.text
    key = COMMAND_META_KEY.format(application=fake.application_id, scope=fake.default_guild_id)
    assert await storage.get_meta(key) is None  # tried again at the next start
