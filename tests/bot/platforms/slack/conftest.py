"""Fixtures of the Slack tests: the loopback Slack emulator, and no ``SLACK_*`` from the host.

The emulator's own self-tests (``tests/fakes/slack``) import `fake` from here, so it is
defined once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.platforms.slack.lifecycle import SlackPlatform
from tests.bot.platforms.slack.helpers import APP_TOKEN, BOT_TOKEN
from tests.fakes.slack.api import FakeSlack


@pytest.fixture(autouse=True)
def no_slack_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings come from the test alone: never from a developer's exported tokens."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """The Slack emulator on 127.0.0.1, knowing the test tokens; stopped after the test."""
    async with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN) as server:
        yield server


@pytest.fixture
async def started():
    """Start platforms and always stop them."""
    platforms: list[SlackPlatform] = []

    async def start(platform: SlackPlatform) -> SlackPlatform:
        platforms.append(platform)
        await platform.start()
        return platform

    yield start
    for platform in platforms:
        await platform.stop()
