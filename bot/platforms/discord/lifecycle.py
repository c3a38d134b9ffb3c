"""Discord as a `Platform` of the runner: `DiscordPlatform`.

It signs in, syncs the commands only when they changed, connects, and falls back to a
connection without the Message Content intent when Discord refuses it (close code 4014), so
slash commands and daily posts keep working while the operator fixes the portal setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import discord

from bot.platforms import HealthCheck, StartupError, no_scheduler
from bot.platforms.discord import PLATFORM
from bot.platforms.discord.client import MaximClient, build_discord_client
from bot.platforms.discord.connection import (
    FATAL_CLOSES,
    MESSAGE_CONTENT_REFUSED,
    closed_for_good,
    configure_endpoints,
    sign_in,
)
from bot.platforms.discord.handlers import DiscordHandlers
from bot.platforms.discord.poster import DiscordPoster
from bot.platforms.discord.sync import sync_commands

if TYPE_CHECKING:
    from bot.chat import ChatService
    from bot.config import DiscordConfig, Secrets
    from bot.storage import Storage

log = logging.getLogger(__name__)

START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


class DiscordPlatform:
    """Discord as a `Platform` of the runner."""

    name = PLATFORM

    def __init__(
        self,
        service: ChatService,
        config: DiscordConfig,
        secrets: Secrets,
        *,
        storage: Storage,
        healthy: HealthCheck = no_scheduler,
        guild_ready_timeout: float = 2.0,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.service = service
        self.config = config
        self.secrets = secrets
        self.storage = storage  # where the hash of the last command sync is kept
        self._healthy = healthy
        self.guild_ready_timeout = guild_ready_timeout
        self.start_timeout = start_timeout
        self.handlers = DiscordHandlers(service, config)
        self.poster = DiscordPoster(cards=service.cards)
        self.client: MaximClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stopping = False

    def healthy(self) -> bool:
        """Connected and ready, and the rest of the bot (the scheduler) is healthy."""
        client = self.client
        return (
            client is not None and client.is_ready() and not client.is_closed() and self._healthy()
        )

    async def ready(self) -> bool:
        """READY, and every gateway websocket open (False while it reconnects)."""
        client = self.client
        if client is None or not client.is_ready() or client.is_closed():
            return False
        if isinstance(client, discord.AutoShardedClient):
            return bool(client.shards) and not any(s.is_closed() for s in client.shards.values())
        return client.ws is not None and client.ws.open

    def _token(self) -> str:
        """DISCORD_TOKEN, which validated settings always hold, not blank (`bot.config.checks`)."""
        token = self.secrets.discord_token
        if token is None:
            raise StartupError("Discord: settings not validated: run maxim-bot check-config")
        return token.get_secret_value()

    async def _signed_in_client(self, *, message_content: bool) -> MaximClient:
        client = build_discord_client(
            self.service,
            self.config,
            message_content=message_content,
            guild_ready_timeout=self.guild_ready_timeout,
            handlers=self.handlers,
        )

        async def on_ready() -> None:
            self._ready.set()
            log.info(
                "Discord: connected as %s to %d server(s)%s",
                client.user,
                len(client.guilds),
                "" if client.intents.message_content else " without Message Content",
            )

        client.event(on_ready)
        await sign_in(client, self._token(), self.config.api_base)
        self.client = client
        self.poster.client = client
        return client

    async def start(self) -> None:
        """Sign in, sync the commands if they changed, connect and wait until ready."""
        configure_endpoints(self.config)
        client = await self._signed_in_client(message_content=self.config.message_content)
        await sync_commands(client, self.storage, self.config.guild_ids)
        self._task = asyncio.get_running_loop().create_task(self._stay_connected(client))
        ready = asyncio.ensure_future(self._ready.wait())
        done, _ = await asyncio.wait(
            (ready, self._task), timeout=self.start_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if self._task in done:
            self._task.result()  # raises the StartupError
            raise StartupError("Discord: the gateway connection ended during start-up")
        if not done:
            log.warning("Discord: not connected after %.0f s; still trying", self.start_timeout)

    async def _stay_connected(self, client: MaximClient) -> None:
        """Run the gateway connection; without Message Content if Discord refuses it."""
        while True:
            try:
                await client.connect(reconnect=True)
                return
            except discord.PrivilegedIntentsRequired:
                if not client.intents.message_content or self._stopping:
                    raise StartupError(FATAL_CLOSES[4014]) from None
                log.warning("%s", MESSAGE_CONTENT_REFUSED)
                await client.close()
                client = await self._signed_in_client(message_content=False)
                if self._stopping:
                    await client.close()
                    return
            except discord.ConnectionClosed as err:
                if self._stopping:
                    return
                raise StartupError(closed_for_good(err.code)) from None

    async def wait(self) -> None:
        """Until the connection ends by itself (a fatal close raises `StartupError`)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Close the connection; work under way gets a moment to finish."""
        self._stopping = True
        if self.client is not None:
            await self.client.close()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait((task,), timeout=STOP_TIMEOUT)
            if not done:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
