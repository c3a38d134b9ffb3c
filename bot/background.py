"""Work that runs beside its caller, in one place for every part of the bot.

Slack must be acknowledged within 3 s, so its replies run after the ack; the scheduler's sweep
and posts run beside APScheduler's jobs. Each task is an error boundary (a failure is logged
once with a reference, and said to the user when there is a way to), and stopping waits for
the work under way for a bounded time before cancelling the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from bot.log import report_failure

log = logging.getLogger(__name__)
STOP_TIMEOUT = 5.0  # seconds that work under way may take to finish when the bot stops


class Background:
    """Tasks that run beside the caller (posts, replies, sweeps); each is an error boundary."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(
        self,
        work: Coroutine[Any, Any, None],
        what: str,
        apologise: Callable[[str], Awaitable[Any]] | None = None,
    ) -> asyncio.Task[None]:
        """Run `work` in a task; a failure is logged with a reference and, if it can, said."""

        async def guarded() -> None:
            try:
                await work
            except Exception:
                apology = report_failure(log, what)
                if apologise is not None:
                    try:
                        await apologise(apology)
                    except Exception:
                        log.warning("could not tell the user that %s failed", what)

        task = asyncio.get_running_loop().create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def pending(self) -> int:
        """How many tasks are still running."""
        return len(self._tasks)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait for every task, including ones spawned meanwhile; False if `timeout` passed."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(set(self._tasks), timeout=left)
        return True

    async def close(self, timeout: float = STOP_TIMEOUT) -> None:
        """Let running work finish for up to `timeout` seconds, then cancel the rest."""
        if await self.drain(timeout):
            return
        log.warning("cancelling %d unfinished %s task(s)", len(self._tasks), self.name)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
