"""Fixtures of the Discord tests: the loopback Discord, a hand-moved clock, a running bot.

The emulator fixture does not point discord.py at the emulator: that is the bot's own job
(`bot.platforms.discord.connection.configure_endpoints`, from its settings). It points
discord.py's class-level endpoints at a closed port on 127.0.0.1 instead, so a bot that forgot
fails at once, locally, rather than calling discord.com, and puts back discord.py's own values
after each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import discord
import pytest
import yarl

from bot.platforms.discord.lifecycle import DiscordPlatform
from bot.storage import Storage
from tests.bot.platforms.discord.helpers import Clock, make_service, running, settings_for
from tests.fakes.discord.api import FakeDiscord

NOWHERE_API = "http://127.0.0.1:9/api/v10"  # the discard port: nothing listens there
NOWHERE_GATEWAY = "ws://127.0.0.1:9/gateway"


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """A started emulator; discord.py's endpoints point nowhere until the bot sets them."""
    monkeypatch.setattr(discord.http.Route, "BASE", NOWHERE_API)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(NOWHERE_GATEWAY)
    )
    async with FakeDiscord() as emulator:
        yield emulator


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def bot(fake: FakeDiscord, storage: Storage, clock: Clock) -> AsyncIterator[DiscordPlatform]:
    """A running Discord platform with previews on and no reaction."""
    async with running(settings_for(fake), make_service(storage, clock)) as platform:
        yield platform
