"""Bare discord.py clients for the emulator's self-tests: connect, collect messages, params.

The self-tests pin the emulator's contract against the installed discord.py, so a library
upgrade that changes the wire behaviour fails there first. Nothing sleeps for a fixed time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import discord

from tests.fakes.discord.api import FakeDiscord

HARD_TIMEOUT = 8.0
# How long discord.py waits for more GUILD_CREATEs before firing on_ready
# (default 2 s); the emulator sends them all right after READY.
GUILD_READY_TIMEOUT = 0.05


def make_intents(*, message_content: bool = True) -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = message_content
    return intents


def make_client(*, message_content: bool = True) -> discord.Client:
    return discord.Client(
        intents=make_intents(message_content=message_content),
        guild_ready_timeout=GUILD_READY_TIMEOUT,
    )


@contextlib.asynccontextmanager
async def connected(fake: FakeDiscord, client: discord.Client) -> AsyncIterator[asyncio.Task[None]]:
    """Log in, connect in a task, wait for on_ready; always close cleanly."""
    await client.login(fake.token)
    task = asyncio.create_task(client.connect(reconnect=True))
    try:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=HARD_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise the connect failure
            raise AssertionError(f"client never became ready\n{fake.describe()}")
        yield task
    finally:
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, HARD_TIMEOUT)


class Inbox:
    """Collects on_message events in arrival order."""

    def __init__(self, client: discord.Client) -> None:
        self.queue: asyncio.Queue[discord.Message] = asyncio.Queue()

        async def on_message(message: discord.Message) -> None:
            await self.queue.put(message)

        client.event(on_message)

    async def next(self, *, skip_own: discord.ClientUser | None = None) -> discord.Message:
        while True:
            message = await asyncio.wait_for(self.queue.get(), HARD_TIMEOUT)
            if skip_own is None or message.author.id != skip_own.id:
                return message


def on_event(name: str, event: asyncio.Event) -> Any:
    async def handler(*_: Any) -> None:
        event.set()

    handler.__name__ = name
    return handler


def params(content: str) -> Any:
    return discord.http.handle_message_parameters(content=content)
