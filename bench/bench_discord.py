"""Benchmark: MESSAGE_CREATE events through the gateway, the bot against a bare discord.py client.

The loopback Discord emulator from the tests runs in a child process (the other core) and, on
request, floods the connected client with pre-encoded MESSAGE_CREATE frames, half of them about
NaN (`bench.chatlines`). In this process two clients take turns, alternating which goes first:

* bare: a discord.py client configured like the bot's, whose ``on_message`` does nothing;
* bot: the real maxim-bot Discord platform (`DiscordPlatform`: trigger check, cooldown,
  SQLite storage, the reply to the first NaN).

Each measures messages per second from the end of its handler for the first message to the end
of its handler for the last. Rounds vary by ±20% on a 2-core machine, so it runs at least 12 and
prints the median and the range of the bot/bare ratio. Target (issue #5): median at least 0.9x.

Run it as ``python bench/bench_discord.py`` from the repository root (``make bench`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.chatlines import chat_lines  # noqa: E402

ROUNDS = 12
MESSAGES = 10_000
WARM_UP = 2_000
TARGET = 0.9
TIMEOUT = 60.0


# ------------------------------------------------------------------------------ the emulator


async def serve() -> None:
    """The child: the emulator, flooding whoever is connected when asked on stdin."""
    from tests.fakes.discord.api import FakeDiscord

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with FakeDiscord() as fake:
        info = {
            "api_base": fake.api_base,
            "gateway_url": fake.gateway_url,
            "token": fake.token,
            "guild_id": fake.default_guild_id,
            "user_id": fake.default_user_id,
        }
        print(json.dumps(info), flush=True)
        while line := (await reader.readline()).decode().split():
            if line[0] == "connections":
                print(len(fake.gateway_connections), flush=True)
            elif line[0] == "flood":
                count, seed, target = int(line[1]), int(line[2]), int(line[3])
                contents = chat_lines(count, nan_share=0.5, seed=seed)
                await fake.flood_messages(contents, connection=fake.gateway_connections[target])
                print("ok", flush=True)


# ------------------------------------------------------------------------------ the clients


class Emulator:
    """The child process, spoken to over its stdin and stdout."""

    def __init__(self, process: asyncio.subprocess.Process, info: dict[str, Any]) -> None:
        self.process = process
        self.info = info

    @classmethod
    async def start(cls) -> Emulator:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--serve",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        return cls(process, json.loads(await process.stdout.readline()))

    async def ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{command}\n".encode())
        await self.process.stdin.drain()
        return (await self.process.stdout.readline()).decode().strip()

    async def connections(self) -> int:
        """How many gateway connections were made so far (the newest is the last client's)."""
        return int(await self.ask("connections"))

    async def flood(self, count: int, seed: int, connection: int) -> None:
        """Flood the client on gateway connection number `connection` (0-based)."""
        assert await self.ask(f"flood {count} {seed} {connection}") == "ok"

    async def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()


class Counter:
    """Wraps a client's ``on_message``: times its handlers for the flooded messages."""

    def __init__(self, client: Any, author_id: int) -> None:
        self.expected = 0
        self.count = 0
        self.first = self.last = 0.0
        self.first_cpu = self.last_cpu = 0.0
        self.done = asyncio.Event()
        inner = client.on_message

        async def on_message(message: Any) -> None:
            await inner(message)
            if message.author.id == author_id:
                self.count += 1
                if self.count == 1:
                    self.first, self.first_cpu = time.perf_counter(), time.process_time()
                if self.count == self.expected:
                    self.last, self.last_cpu = time.perf_counter(), time.process_time()
                    self.done.set()

        client.event(on_message)

    def expect(self, count: int) -> None:
        self.expected, self.count = count, 0
        self.done.clear()

    @property
    def rate(self) -> float:
        """Messages per second of wall-clock time."""
        return (self.expected - 1) / (self.last - self.first)

    @property
    def cpu_rate(self) -> float:
        """Messages per second of this process's CPU time (blind to other processes' load)."""
        return (self.expected - 1) / max(self.last_cpu - self.first_cpu, 1e-9)


async def bare_client(emulator: Emulator) -> tuple[Any, Any]:
    """A discord.py client with the bot's options and an ``on_message`` that does nothing."""
    import discord

    from bot.platforms.discord.connection import build_intents

    client = discord.Client(
        intents=build_intents(message_content=True),
        guild_ready_timeout=0.05,
        max_messages=None,
        chunk_guilds_at_startup=False,
    )

    async def on_message(message: discord.Message) -> None:
        pass

    client.event(on_message)
    await client.login(emulator.info["token"])
    task = asyncio.create_task(client.connect())
    await asyncio.wait_for(client.wait_until_ready(), TIMEOUT)

    async def close() -> None:
        await client.close()
        with contextlib.suppress(Exception):
            await task

    return client, close


async def bot_client(emulator: Emulator, storage: Any) -> tuple[Any, Any]:
    """The real Discord platform of maxim-bot, started as `maxim-bot run` starts it."""
    import random

    from bot.bootstrap import build_service
    from bot.config import Settings
    from bot.platforms.discord.lifecycle import DiscordPlatform

    settings = Settings.model_validate(
        {
            "discord": {
                "api_base": emulator.info["api_base"],
                "gateway_url": emulator.info["gateway_url"],
                "guild_ids": [emulator.info["guild_id"]],
            },
            "secrets": {"discord_token": emulator.info["token"]},
        }
    )

    service = build_service(settings, storage, rng=random.Random(1))
    platform = DiscordPlatform(
        service, settings.discord, settings.secrets, storage=storage, guild_ready_timeout=0.05
    )
    await platform.start()
    return platform.client, platform.stop


class Contestant:
    """One connected client, the gateway connection it uses, and its counter."""

    def __init__(self, client: Any, close: Any, connection: int, author_id: int) -> None:
        self.close = close
        self.connection = connection
        self.counter = Counter(client, author_id)

    async def measure(self, emulator: Emulator, count: int, seed: int) -> tuple[float, float]:
        self.counter.expect(count)
        await emulator.flood(count, seed, self.connection)
        await asyncio.wait_for(self.counter.done.wait(), TIMEOUT)
        return self.counter.rate, self.counter.cpu_rate


async def connect(kind: str, emulator: Emulator, storage: Any) -> Contestant:
    import discord.gateway
    import discord.http
    import yarl

    # The bot sets these itself from its config; the bare client needs them too.
    discord.http.Route.BASE = emulator.info["api_base"]
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.info["gateway_url"])
    if kind == "bare":
        client, close = await bare_client(emulator)
    else:
        client, close = await bot_client(emulator, storage)
    connection = await emulator.connections() - 1
    return Contestant(client, close, connection, emulator.info["user_id"])


# ------------------------------------------------------------------------------ the run


async def run(rounds: int, count: int) -> int:
    from bot.storage import Storage

    logging.disable(logging.WARNING)  # the bot's INFO lines are not what we measure
    emulator = await Emulator.start()
    rates: dict[str, list[float]] = {"bare": [], "bot": []}
    cpu_rates: dict[str, list[float]] = {"bare": [], "bot": []}
    with tempfile.TemporaryDirectory() as tmp:
        storage = await Storage.open(f"sqlite+aiosqlite:///{tmp}/bench.db")
        contestants: dict[str, Contestant] = {}
        try:
            for kind in ("bare", "bot"):
                contestants[kind] = await connect(kind, emulator, storage)
                await contestants[kind].measure(emulator, WARM_UP, seed=0)  # warm caches
            for number in range(rounds):
                order = ("bare", "bot") if number % 2 == 0 else ("bot", "bare")
                for kind in order:
                    rate, cpu_rate = await contestants[kind].measure(emulator, count, number + 1)
                    rates[kind].append(rate)
                    cpu_rates[kind].append(cpu_rate)
        finally:
            for contestant in contestants.values():
                await contestant.close()
            await storage.close()
            await emulator.stop()

    ratios = [bot / bare for bot, bare in zip(rates["bot"], rates["bare"], strict=True)]
    cpu_ratios = [bot / bare for bot, bare in zip(cpu_rates["bot"], cpu_rates["bare"], strict=True)]
    median = statistics.median(ratios)
    print(f"MESSAGE_CREATE through the gateway: {count:,} messages (half NaN) x {rounds} rounds")
    for kind in ("bare", "bot"):
        values = rates[kind]
        print(
            f"  {kind:<4}  median {statistics.median(values):>7,.0f} msg/s  "
            f"(min {min(values):,.0f}, max {max(values):,.0f})"
        )
    print(
        f"  bot/bare ratio: median {median:.2f}x (min {min(ratios):.2f}x, max {max(ratios):.2f}x)"
        f"  target >= {TARGET}x: {'OK' if median >= TARGET else 'MISSED'}"
    )
    print(
        f"  per CPU second of the client process (blind to other load): median "
        f"{statistics.median(cpu_ratios):.2f}x (min {min(cpu_ratios):.2f}x, "
        f"max {max(cpu_ratios):.2f}x)"
    )
    return 0 if median >= TARGET else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--messages", type=int, default=MESSAGES)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
        return 0
    return asyncio.run(run(max(args.rounds, 1), max(args.messages, 2)))


if __name__ == "__main__":
    sys.exit(main())
