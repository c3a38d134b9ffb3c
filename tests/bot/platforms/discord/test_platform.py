"""Discord as a running platform: connection, intents, sync, daily posts, whole processes.

The real discord.py client connects to the loopback emulator's gateway; failures are the ones
Discord produces (close code 4014, a dropped socket, 401, 403/404 on a post, 429 with ``Via``).
The `maxim-bot` process tests start the real command with the emulator's URLs in its env.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import discord
import pytest

from bot.__main__ import main
from bot.config import ScheduleConfig, Settings
from bot.daily.scheduler import DailyScheduler, post_key
from bot.platforms import StartupError
from bot.platforms.discord.cli import invite_url
from bot.platforms.discord.client import ShardedMaximClient, build_discord_client
from bot.platforms.discord.connection import MESSAGE_CONTENT_REFUSED
from bot.platforms.discord.poster import DiscordPoster, nonce_for
from bot.platforms.discord.sync import COMMAND_META_KEY, sync_commands
from bot.poster import ChannelUnavailable
from bot.storage import Storage, Subscription
from maxims import load_corpus
from tests.bot.bot_process import BotProcess, clean_env, needs_bot, write_config
from tests.bot.platforms.discord.helpers import (
    HARD_TIMEOUT,
    NAN_NUMBERS,
    client_of,
    make_service,
    platform_for,
    run_command,
    running,
    settings_for,
)
from tests.fakes.discord.api import FakeDiscord
from tests.fakes.discord.gateway import INTENT_MESSAGE_CONTENT

DAY = dt.date(2026, 11, 28)
CORPUS = load_corpus()


@pytest.fixture
async def fake():
    async with FakeDiscord() as emulator, emulator.patch_discord():
        yield emulator


def settings_for_offline(**discord_keys):
    return Settings.model_validate({"discord": discord_keys, "secrets": {"discord_token": "x"}})


def puts(fake: FakeDiscord) -> list[str]:
    return [r.path for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]


# ------------------------------------------------------------------------------ connection


@pytest.mark.parametrize("shards", [None, "auto"], ids=["client", "auto-sharded"])
async def test_without_message_content_it_says_how_to_enable_it_and_keeps_working(
    storage, caplog, shards
):
    async with (
        FakeDiscord(allow_message_content=False) as fake,
        fake.patch_discord(),
        running(settings_for(fake, shards=shards), make_service(storage)) as platform,
    ):
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


async def test_a_bad_token_is_one_clear_startup_error(fake, storage):
    settings = settings_for(fake, token="not-the-token")
    platform = platform_for(settings, make_service(storage))
    with pytest.raises(StartupError) as error:
        await platform.start()
    await platform.stop()
    message = str(error.value)
    assert message.startswith("Discord: DISCORD_TOKEN was rejected (401 Unauthorized)")
    assert "\n" not in message


async def test_an_unreachable_api_is_one_clear_startup_error(storage):
    async with FakeDiscord() as fake:
        settings = settings_for(fake)
    platform = platform_for(settings, make_service(storage))  # fake is gone
    with pytest.raises(StartupError, match=r"^Discord: cannot reach the API at http://127"):
        await platform.start()
    await platform.stop()


async def test_api_base_and_gateway_url_come_from_the_config(fake, storage):
    async with running(settings_for(fake), make_service(storage)):
        assert fake.api_base == discord.http.Route.BASE
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == fake.gateway_url
        assert fake.gateway_connections[0].path == "/gateway"


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


# ------------------------------------------------------------------------------ command sync


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


# ------------------------------------------------------------------------------ daily posts


async def signed_in_poster(fake: FakeDiscord, storage: Storage):
    client = build_discord_client(make_service(storage), settings_for(fake).discord)
    await client.login(fake.token)
    return client, DiscordPoster(client)


async def test_the_daily_post_is_an_embed_with_a_nonce_and_can_be_found_again(fake, storage):
    client, poster = await signed_in_poster(fake, storage)
    try:
        channel = str(fake.default_channel_id)
        key = post_key("discord", channel, DAY)
        message_id = await poster.post(channel, CORPUS.get(34), key=key)
        again = await poster.post(channel, CORPUS.get(34), key=key)  # a retry after a crash
        found = await poster.find_post(channel, key)
        other_day = await poster.find_post(
            channel, post_key("discord", channel, DAY + dt.timedelta(1))
        )
    finally:
        await client.close()

    [posted] = fake.messages  # Discord dropped the retry: same nonce
    assert again == message_id == found == str(posted.id)
    assert other_day is None
    assert posted.nonce == nonce_for(key) and len(str(posted.nonce)) <= 25
    assert posted.payload["enforce_nonce"] is True
    assert posted.allowed_mentions == {"parse": []}
    [embed] = posted.embeds
    assert embed["title"] == "Maxim of the day · #34"
    assert embed["description"] == CORPUS.get(34).text
    assert (
        embed["footer"]["text"] == "nan, learning-rate, debugging · maxim of the day · 2026-11-28"
    )


async def test_a_rate_limited_post_is_retried(fake, storage):
    client, poster = await signed_in_poster(fake, storage)
    try:
        fake.rate_limit_next("POST", re.compile(r"^/channels/\d+/messages$"), retry_after=0.05)
        channel = str(fake.default_channel_id)
        message_id = await poster.post(
            channel, CORPUS.get(1), key=post_key("discord", channel, DAY)
        )
    finally:
        await client.close()
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in posts] == [429, 200]
    assert [str(m.id) for m in fake.messages] == [message_id]


async def test_a_missing_or_forbidden_channel_is_channel_unavailable(fake, storage):
    client, poster = await signed_in_poster(fake, storage)
    denied = fake.add_text_channel(name="locked")
    fake.deny_channel(denied.id)
    try:
        with pytest.raises(ChannelUnavailable, match=r"unknown channel \(10003\)"):
            await poster.post("123456789", CORPUS.get(1), key="k1")
        with pytest.raises(ChannelUnavailable, match=r"missing permissions \(50013\)"):
            await poster.post(str(denied.id), CORPUS.get(1), key="k2")
        with pytest.raises(ChannelUnavailable, match="not a Discord channel id"):
            await poster.post("general", CORPUS.get(1), key="k3")
    finally:
        await client.close()
    assert fake.messages == []


async def test_the_scheduler_marks_a_missing_channel_failing(fake, storage):
    client, poster = await signed_in_poster(fake, storage)
    now = dt.datetime(2026, 11, 28, 9, 1, tzinfo=dt.UTC)
    live, gone = str(fake.default_channel_id), "987654321"
    for channel in (live, gone):
        await storage.save_subscription(
            Subscription(
                "discord", str(fake.default_guild_id), channel, dt.time(9), "UTC", "u", now
            )
        )
    scheduler = DailyScheduler(
        storage=storage,
        posters={"discord": poster},
        corpus=CORPUS,
        config=ScheduleConfig(),
        clock=lambda: now,
    )
    try:
        assert await scheduler.deliver(await storage.get_subscription("discord", live), DAY)
        assert not await scheduler.deliver(await storage.get_subscription("discord", gone), DAY)
    finally:
        await client.close()
    assert [m.channel_id for m in fake.messages] == [fake.default_channel_id]
    assert (await storage.get_subscription("discord", live)).failing is None
    assert "unknown channel" in ((await storage.get_subscription("discord", gone)).failing or "")


# ------------------------------------------------------------------------------ command line


def test_invite_prints_the_url_with_exactly_the_permissions_used(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["discord", "invite", "--client-id", "1234"]) == 0
    url = capsys.readouterr().out.strip()
    # View Channels, Send Messages, Embed Links, Read Message History, Send Messages in Threads
    assert url == (
        "https://discord.com/oauth2/authorize?client_id=1234"
        "&scope=bot+applications.commands&permissions=274877991936"
    )
    (tmp_path / "config.toml").write_text('[discord]\nreaction = "🤔"\n')
    assert main(["discord", "invite", "--client-id", "1234"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"permissions={274877991936 | 64}")


def test_invite_without_token_or_client_id_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["discord", "invite"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("maxim-bot: Discord: set DISCORD_TOKEN")


async def test_invite_asks_discord_for_the_application_id(fake):
    url = await invite_url(settings_for(fake))
    assert f"client_id={fake.application_id}&" in url


# ------------------------------------------------------------------------------ whole processes


def process_env(fake: FakeDiscord, token: str | None = None) -> dict[str, str]:
    return clean_env(
        DISCORD_TOKEN=token or fake.token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
    )


def write_discord_config(tmp_path: Path, fake: FakeDiscord, extra: str = "") -> None:
    write_config(tmp_path, f"[discord]\nguild_ids = [{fake.default_guild_id}]\n{extra}")


@needs_bot
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


@needs_bot
async def test_the_whole_bot_with_a_bad_token_exits_2_with_one_line(fake, tmp_path):
    write_discord_config(tmp_path, fake)
    bot = await BotProcess.start(tmp_path, process_env(fake, token="revoked-token"), "run")
    try:
        code, _ = await bot.end(terminate=False)
    finally:
        bot.kill()
    assert code == 2
    assert "DISCORD_TOKEN was rejected (401 Unauthorized)" in bot.only_error()


@needs_bot
async def test_discord_sync_pushes_the_commands_to_one_guild_and_remembers(fake, tmp_path):
    write_discord_config(tmp_path, fake)
    other = fake.add_guild("Another server")
    bot = await BotProcess.start(
        tmp_path, process_env(fake), "discord", "sync", "--guild", str(other.id)
    )
    try:
        code, out = await bot.end(terminate=False)
    finally:
        bot.kill()
    assert code == 0, bot.text
    assert out.strip() == f"synced /maxim and /maxim-daily to server {other.id}"
    assert puts(fake) == [f"/applications/{fake.application_id}/guilds/{other.id}/commands"]
    assert fake.gateway_connections == []  # REST only
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        key = COMMAND_META_KEY.format(application=fake.application_id, scope=other.id)
        assert await storage.get_meta(key) is not None
    finally:
        await storage.close()
