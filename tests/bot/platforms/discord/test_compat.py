"""The discord.py internals `bot.platforms.discord.compat` relies on still exist and still work.

Each test fails loudly when a discord.py upgrade renames or removes what compat writes or calls,
instead of the bot quietly talking to discord.com or warning about voice at every start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import discord
import pytest

from bot.platforms.discord import compat
from bot.platforms.discord.client import build_discord_client
from tests.bot.platforms.discord.helpers import (
    HARD_TIMEOUT,
    client_of,
    make_service,
    running,
    settings_for,
    settings_for_offline,
)

VOICE_WARNING = "voice will NOT be supported"


async def test_point_at_sends_rest_and_a_plain_clients_gateway_to_the_given_urls(fake):
    compat.point_at(fake.api_base + "/", fake.gateway_url)
    assert discord.http.Route("GET", "/users/@me").url == f"{fake.api_base}/users/@me"

    client = discord.Client(intents=discord.Intents.none())
    await client.login(fake.token)
    task = asyncio.ensure_future(client.connect(reconnect=False))
    try:
        await fake.wait_ready(timeout=HARD_TIMEOUT)
    finally:
        await client.close()
        with contextlib.suppress(Exception):
            await task
    assert [r.path for r in fake.requests][:1] == ["/users/@me"]
    assert [c.path for c in fake.gateway_connections] == ["/gateway"]


@pytest.mark.parametrize(
    ("owner", "name", "use"),
    [
        (discord.http.Route, "BASE", "point_at"),
        (discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", "point_at"),
        (discord.VoiceClient, "warn_nacl", "silence_voice_warnings"),
        (discord.VoiceClient, "warn_dave", "silence_voice_warnings"),
        (discord.Interaction, "_integration_owners", "integration_owners"),
    ],
)
def test_a_renamed_internal_stops_the_bot_with_a_pointer_to_compat(monkeypatch, owner, name, use):
    monkeypatch.delattr(owner, name)  # what a discord.py upgrade that renames it looks like
    with pytest.raises(compat.LibraryChanged, match=rf"{name}: bot/platforms/discord/compat.py"):
        if use == "point_at":  # refuses before writing either
            compat.point_at("http://127.0.0.1:9/api/v10", "ws://127.0.0.1:9/gateway")
        elif use == "integration_owners":  # refuses before reading (the user-install tests read)
            compat.integration_owners(object())  # type: ignore[arg-type]
        else:
            compat.silence_voice_warnings()


def test_building_the_client_silences_discord_pys_voice_warnings(monkeypatch, caplog, storage):
    for flag in ("warn_nacl", "warn_dave"):
        monkeypatch.setattr(discord.VoiceClient, flag, True)  # as in a fresh process
    with caplog.at_level(logging.WARNING, logger="discord"):
        build_discord_client(make_service(storage), settings_for_offline().discord)
        assert VOICE_WARNING not in caplog.text

        for flag in ("warn_nacl", "warn_dave"):  # and these flags are what discord.py reads
            monkeypatch.setattr(discord.VoiceClient, flag, True)
        discord.Client(intents=discord.Intents.none())
    assert caplog.text.count(VOICE_WARNING) == 2


async def test_command_payloads_are_exactly_what_a_sync_sends(fake, storage):
    async with running(settings_for(fake), make_service(storage)) as platform:
        guild = discord.Object(fake.default_guild_id)
        expected = compat.command_payloads(client_of(platform).tree, guild)
    assert [name["name"] for name in expected] == ["maxim", "maxim-daily"]
    assert fake.command_sync_payloads == [(fake.default_guild_id, expected)]
