"""Command sync: only when the tree changed, guild or global; a refusal does not stop the bot."""

from __future__ import annotations

import asyncio
import re

from bot.platforms.discord.client import MAX_RATE_LIMIT_WAIT, build_discord_client
from bot.platforms.discord.sync import COMMAND_META_KEY, command_digest, sync_commands
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


async def test_maxim_is_for_user_installs_everywhere_and_the_daily_post_for_servers(fake, storage):
    async with running(settings_for(fake, guild_ids=[]), make_service(storage)):
        pass
    synced = {c["name"]: c for c in fake.synced_commands[None]}
    assert synced["maxim"]["integration_types"] == [0, 1]  # server install, user install
    assert synced["maxim"]["contexts"] == [0, 1, 2]  # servers, DMs with the bot, other DMs
    assert synced["maxim-daily"]["integration_types"] == [0]  # a daily post needs the bot
    assert synced["maxim-daily"]["contexts"] == [0]
    assert synced["maxim-daily"]["dm_permission"] is False


async def test_a_tree_synced_before_user_installs_is_synced_again_once(fake, storage):
    """Installs that synced before #12 hold the hash of a tree without installs and contexts."""
    settings = settings_for(fake, guild_ids=[])
    tree = build_discord_client(make_service(storage), settings.discord).tree
    for command in tree.get_commands():
        command.allowed_installs = command.allowed_contexts = None  # as registered before
        command.guild_only = False  # type: ignore[union-attr]
    key = COMMAND_META_KEY.format(application=fake.application_id, scope="global")
    await storage.set_meta(key, command_digest(tree, None))
    for _ in range(2):
        async with running(settings, make_service(storage)):
            pass
    assert puts(fake) == [f"/applications/{fake.application_id}/commands"]
