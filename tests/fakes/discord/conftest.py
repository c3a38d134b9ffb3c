"""The emulator's self-tests drive bare discord.py clients, which must be pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.discord.api import FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    """A started emulator, with discord.py pointed at it and restored afterwards."""
    async with FakeDiscord() as emulator, emulator.patch_discord():
        yield emulator
