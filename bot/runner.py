"""Starting and stopping the whole bot, all on one asyncio event loop.

`bot.bootstrap` builds the parts; this module only runs them, in order: the platforms start,
then the daily scheduler; on the way out the scheduler stops first, then the platforms, then
storage closes. The Slack and Discord SDKs load only when their platform is configured.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import sys
from typing import TYPE_CHECKING, TextIO

from bot.bootstrap import assemble, web_site
from bot.chat import Clock, utc_now
from bot.ops.serving import serve_probes
from bot.platforms import StartupError
from bot.web.serving import serve_pages

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.platforms import Platform

log = logging.getLogger(__name__)


async def run_bot(
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    clock: Clock = utc_now,
    stop: asyncio.Event | None = None,
) -> int:
    """Run until a platform ends (console EOF) or `stop` is set; returns the exit status."""
    stopping = stop or asyncio.Event()
    async with (
        assemble(
            settings, stdin=stdin or sys.stdin, stdout=stdout or sys.stdout, clock=clock
        ) as bot,
        serve_probes(
            settings.server, bot.platforms, ping=bot.storage.ping, scheduler_running=bot.healthy
        ) as probes,
        serve_pages(
            settings.web,
            web_site(settings),
            corpus=bot.service.corpus,
            cards=bot.service.cards,
            limits=settings.server,
            today=lambda: clock().astimezone(dt.UTC).date(),
        ) as pages,
    ):
        for problem in (probes.problem, pages.problem):
            if problem is not None:
                log.error("%s", problem)
                return 2
        try:
            for platform in bot.platforms:
                try:
                    await platform.start()
                except StartupError as err:
                    log.error("%s", err)
                    return 2
            await bot.scheduler.start()
            settle_heap()
            parts = [p.name for p in bot.platforms] + (["web"] if pages.port is not None else [])
            log.info("maxim-bot running on %s", ", ".join(parts))
            return await _wait(bot.platforms, stopping)
        finally:
            # A signal (a deploy) stops at once; a platform that ended by itself (the console's
            # end of input) lets the work under way, such as a catch-up post, finish first.
            await bot.scheduler.stop(finish_work=not stopping.is_set())
            for platform in reversed(bot.platforms):
                try:
                    await platform.stop()
                except Exception:
                    log.exception("stopping %s failed", platform.name)
            await bot.service.close()
            log.info("maxim-bot stopped")


def settle_heap() -> None:
    """Hide what start-up built from the garbage collector, once everything is running.

    Imports, clients and connections leave some 100,000 objects that live as long as the
    process. Each full collection would walk them all again; frozen (`gc.freeze`), they are
    skipped, which made a loaded Slack HTTP bot about a tenth cheaper per request.
    """
    gc.collect()
    gc.freeze()


async def _until(event: asyncio.Event) -> None:
    await event.wait()


async def _wait(platforms: list[Platform], stopping: asyncio.Event) -> int:
    """Until a platform ends by itself or `stopping` is set; the exit status."""
    waiters = [asyncio.ensure_future(p.wait()) for p in platforms]
    waiters.append(asyncio.ensure_future(_until(stopping)))
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
