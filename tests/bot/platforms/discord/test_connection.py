"""Signing in and the endpoints: each failure is one line for the operator, never a traceback."""

from __future__ import annotations

import discord
import pytest

from bot.platforms import StartupError
from tests.bot.platforms.discord.helpers import (
    make_service,
    platform_for,
    running,
    settings_for,
)
from tests.fakes.discord.api import FakeDiscord


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
