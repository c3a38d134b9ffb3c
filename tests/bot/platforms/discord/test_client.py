"""The client: sharding options and the commands it registers."""

from __future__ import annotations

from bot.platforms.discord.client import ShardedMaximClient, build_discord_client
from tests.bot.platforms.discord.helpers import (
    client_of,
    make_service,
    running,
    settings_for,
    settings_for_offline,
)

MANAGE_CHANNELS = 1 << 4


async def test_sharding_auto_uses_the_auto_sharded_client(fake, storage):
    settings = settings_for(fake, shards="auto")
    async with running(settings, make_service(storage)) as platform:
        client = client_of(platform)
        assert isinstance(client, ShardedMaximClient)
        assert client.shard_count == 1
        await fake.send_message(content="NaN in a sharded world")
        await fake.wait_for_messages(1)
    assert fake.identify_payloads[0]["shard"] == [0, 1]


def test_shard_ids_and_count_split_the_shards_between_processes(storage):
    settings = settings_for_offline(shard_ids=[1, 3], shard_count=4)
    client = build_discord_client(make_service(storage), settings.discord)
    assert isinstance(client, ShardedMaximClient)
    assert (client.shard_ids, client.shard_count) == ([1, 3], 4)


async def test_maxim_daily_is_registered_for_manage_channels(fake, bot):
    synced = {c["name"]: c for c in fake.synced_commands[fake.default_guild_id]}
    assert set(synced) == {"maxim", "maxim-daily"}
    assert int(synced["maxim-daily"]["default_member_permissions"]) == MANAGE_CHANNELS
    assert synced["maxim"]["default_member_permissions"] is None
    assert synced["maxim"]["options"][0]["autocomplete"] is True
