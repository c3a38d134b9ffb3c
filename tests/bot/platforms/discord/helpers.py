"""What the Discord adapter tests share: settings, a chat service, a running platform, waiters.

Everything runs the real discord.py against the loopback emulator (`tests.fakes.discord.api`).
Waiting is event-driven: the emulator's condition-based waiters, discord.py's own events, and
`HandledMessages`, which tells when our ``on_message`` has finished with a given message (so a
test can assert that *no* answer came, without sleeping).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import discord

from bot.bootstrap import build_service
from bot.chat import ChatService
from bot.config import Settings, TriggersConfig
from bot.platforms.discord.client import MaximClient
from bot.platforms.discord.lifecycle import DiscordPlatform
from bot.storage import Storage
from tests.bot.bot_process import clean_env, write_config
from tests.fakes.discord.api import FakeDiscord, RecordedCallback
from tests.helpers import Clock

HARD_TIMEOUT = 8.0
GUILD_READY_TIMEOUT = 0.05  # the emulator sends every GUILD_CREATE right after READY
NAN_NUMBERS = {34, 40, 55}  # the maxims tagged "nan" in the real corpus


def settings_for(fake: FakeDiscord, *, token: str | None = None, **discord_keys: Any) -> Settings:
    """Settings pointing at the emulator, syncing commands to its guild unless told otherwise."""
    section = {
        "api_base": fake.api_base,
        "gateway_url": fake.gateway_url,
        "guild_ids": [fake.default_guild_id],
        **discord_keys,
    }
    return Settings.model_validate(
        {"discord": section, "secrets": {"discord_token": token or fake.token}}
    )


def settings_for_offline(**discord_keys: Any) -> Settings:
    """Settings for tests that never connect (the client is only built)."""
    return Settings.model_validate({"discord": discord_keys, "secrets": {"discord_token": "x"}})


def make_service(
    storage: Storage, clock: Clock | None = None, *, cooldown: float = 600, seed: int = 1
) -> ChatService:
    settings = Settings(triggers=TriggersConfig(cooldown_seconds=cooldown))
    return build_service(settings, storage, clock=clock or Clock(), rng=random.Random(seed))


def platform_for(settings: Settings, service: ChatService, **options: Any) -> DiscordPlatform:
    """The Discord platform as the composition root builds it, over `service`."""
    return DiscordPlatform(
        service, settings.discord, settings.secrets, storage=service.storage, **options
    )


@contextlib.asynccontextmanager
async def running(settings: Settings, service: ChatService) -> AsyncIterator[DiscordPlatform]:
    """A started platform, always stopped afterwards."""
    platform = platform_for(
        settings, service, guild_ready_timeout=GUILD_READY_TIMEOUT, start_timeout=5
    )
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            await platform.start()
        yield platform
    finally:
        await platform.stop()


def client_of(platform: DiscordPlatform) -> MaximClient:
    assert platform.client is not None
    return platform.client


class HandledMessages:
    """Marks when our ``on_message`` is done with each message (instrumenting, not mocking)."""

    def __init__(self, client: discord.Client) -> None:
        self.done: set[int] = set()
        self._changed = asyncio.Condition()
        inner = client.on_message  # type: ignore[attr-defined]

        async def on_message(message: discord.Message) -> None:
            try:
                await inner(message)
            finally:
                async with self._changed:
                    self.done.add(message.id)
                    self._changed.notify_all()

        client.event(on_message)

    async def wait(self, *message_ids: int) -> None:
        async with asyncio.timeout(HARD_TIMEOUT), self._changed:
            await self._changed.wait_for(lambda: self.done.issuperset(message_ids))


async def run_command(
    fake: FakeDiscord, client: discord.Client, name: str, options: Any = None, **kwargs: Any
) -> RecordedCallback:
    """Send a slash command and return its callback once discord.py finished with it."""
    completed = asyncio.ensure_future(
        client.wait_for("app_command_completion", timeout=HARD_TIMEOUT)
    )
    interaction_id = await fake.send_command(name, options, **kwargs)
    callback = await fake.wait_for_callback(interaction_id, timeout=HARD_TIMEOUT)
    await completed  # discord.py is done with the command (our handler returned)
    return callback


def custom_ids(callback_or_message: Any) -> list[str]:
    """The custom ids of the buttons of a callback's data or a stored message."""
    data = getattr(callback_or_message, "data", callback_or_message) or {}
    return [
        button["custom_id"]
        for row in data.get("components") or []
        for button in row.get("components") or []
    ]


def maxim_number(embed: dict[str, Any]) -> int:
    """The number in a maxim embed's title (``#34``, ``Maxim of the day · #34``)."""
    return int(embed["title"].rsplit("#", 1)[1])


def no_pings(allowed_mentions: dict[str, Any] | None) -> bool:
    return allowed_mentions is not None and allowed_mentions.get("parse") == []


def puts(fake: FakeDiscord) -> list[str]:
    """The paths of every command sync (``PUT .../commands``) the emulator received."""
    return [r.path for r in fake.requests if r.method == "PUT" and r.path.endswith("/commands")]


def process_env(fake: FakeDiscord, token: str | None = None) -> dict[str, str]:
    """The environment of a `maxim-bot` process talking to the emulator."""
    return clean_env(
        DISCORD_TOKEN=token or fake.token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
    )


def write_discord_config(tmp_path: Path, fake: FakeDiscord, extra: str = "") -> None:
    write_config(tmp_path, f"[discord]\nguild_ids = [{fake.default_guild_id}]\n{extra}")
