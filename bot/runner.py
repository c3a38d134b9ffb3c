"""Starting and stopping the whole bot, all on one asyncio event loop.

Storage, the chat platforms and the daily scheduler start here and stop here, in order.
Platforms plug in through the small `Platform` protocol; the Slack and Discord adapters are
imported only when configured, so the console bot starts without loading their SDKs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TextIO

from bot.chat import ChatService, Clock, build_trigger_engine, utc_now
from bot.console import Console
from bot.scheduler import DailyScheduler
from bot.storage import Storage
from bot.subscriptions import DailySubscriptions, config_subscriptions
from maxims import load_corpus

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.poster import Poster

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A platform cannot start (bad token, refused connection): one line for the operator."""


class Platform(Protocol):
    """A chat platform as the runner sees it."""

    name: str

    @property
    def poster(self) -> Poster:
        """How the scheduler posts to this platform."""
        ...

    async def start(self) -> None:
        """Connect; raise `StartupError` with a clear line when that is impossible."""
        ...

    async def wait(self) -> None:
        """Return when the platform ends by itself (the console at EOF); else run forever."""
        ...

    async def stop(self) -> None:
        """Disconnect cleanly."""
        ...


@dataclass
class Runtime:
    """What platform adapters get from the runner."""

    settings: Settings
    service: ChatService
    storage: Storage
    clock: Clock
    scheduler: DailyScheduler | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def healthy(self) -> bool:
        """Whether the scheduler runs (each platform adds its own connection state)."""
        return self.scheduler is not None and self.scheduler.running


class ConsolePlatform:
    """The console chat as a `Platform`."""

    name = "console"

    def __init__(self, runtime: Runtime, stdin: TextIO, stdout: TextIO) -> None:
        config = runtime.settings.console
        self.console = Console(
            runtime.service, stdin, stdout, channel=config.channel, user=config.user
        )
        self.poster = self.console.poster
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start reading lines."""
        log.info(
            "console chat on #%s: type /maxim help, or any message; Ctrl-D quits",
            self.console.origin.channel,
        )
        self._task = asyncio.get_running_loop().create_task(self.console.run())

    async def wait(self) -> None:
        """Until EOF."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop reading (the reader thread is a daemon and dies with the process)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


PlatformFactory = Callable[[Runtime], Platform]


async def _wait_for(event: asyncio.Event) -> None:
    await event.wait()


def build_platforms(runtime: Runtime, stdin: TextIO, stdout: TextIO) -> list[Platform]:
    """The configured platforms, adapters imported only when needed."""
    settings = runtime.settings
    platforms: list[Platform] = []
    if settings.console_enabled:
        platforms.append(ConsolePlatform(runtime, stdin, stdout))
    if settings.slack_enabled:
        from bot.slack_adapter import SlackPlatform  # slack_bolt loads only when configured

        platforms.append(SlackPlatform(runtime))
    if settings.discord_enabled:
        from bot.discord_adapter import DiscordPlatform  # discord.py loads only when configured

        platforms.append(DiscordPlatform(runtime))
    return platforms


async def run_bot(
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    clock: Clock = utc_now,
    stop: asyncio.Event | None = None,
) -> int:
    """Run until a platform ends (console EOF) or `stop` is set; returns the exit status."""
    storage = await Storage.open(settings.storage.url)
    platforms: list[Platform] = []
    scheduler: DailyScheduler | None = None
    try:
        corpus = load_corpus()
        await storage.sync_config_subscriptions(config_subscriptions(settings.daily, clock()))

        async def reload_schedule() -> None:
            if scheduler is not None:
                await scheduler.reload()

        daily = DailySubscriptions(storage, reload_schedule, clock=clock)
        service = ChatService(
            corpus=corpus,
            engine=build_trigger_engine(settings.triggers, corpus),
            storage=storage,
            clock=clock,
            rng=random.Random(),  # noqa: S311  # picking jokes
            daily=daily,
        )
        runtime = Runtime(settings, service, storage, clock, stopping=stop or asyncio.Event())
        platforms = build_platforms(runtime, stdin or sys.stdin, stdout or sys.stdout)
        if not platforms:
            log.error("no platform to run: set a token or enable [console]")
            return 2
        for platform in platforms:
            try:
                await platform.start()
            except StartupError as err:
                log.error("%s", err)
                return 2
        scheduler = DailyScheduler(
            storage=storage,
            posters={p.name: p.poster for p in platforms},
            corpus=corpus,
            config=settings.schedule,
            clock=clock,
        )
        runtime.scheduler = scheduler
        await scheduler.start()
        log.info("maxim-bot running on %s", ", ".join(p.name for p in platforms))
        waiters = [asyncio.ensure_future(p.wait()) for p in platforms]
        waiters.append(asyncio.ensure_future(_wait_for(runtime.stopping)))
        done, pending = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                error = task.exception()
                if isinstance(error, StartupError):
                    log.error("%s", error)
                    return 2
                log.error("a platform stopped with an error", exc_info=error)
                return 1
        return 0
    finally:
        if scheduler is not None:
            await scheduler.stop()
        for platform in reversed(platforms):
            try:
                await platform.stop()
            except Exception:
                log.exception("stopping %s failed", platform.name)
        await storage.close()
        log.info("maxim-bot stopped")
