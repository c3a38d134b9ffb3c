"""Fixtures for tests that run a real `maxim-bot` against both emulators at once.

`slack` and `discord_api` are the loopback Slack and Discord of a bot started as a child
process (the probes, `check-config --connect`): the child reaches them through its config and
environment, so nothing here patches discord.py in the test process, as the Discord adapter
tests' own `fake` does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.bot.platforms.slack.helpers import APP_TOKEN, BOT_TOKEN
from tests.fakes.discord.api import FakeDiscord
from tests.fakes.slack.api import FakeSlack


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """The Slack emulator, accepting `BOT_TOKEN` and `APP_TOKEN` (Socket Mode)."""
    async with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as server:
        yield server


@pytest.fixture
async def discord_api() -> AsyncIterator[FakeDiscord]:
    """The Discord emulator (REST and gateway)."""
    async with FakeDiscord() as emulator:
        yield emulator
