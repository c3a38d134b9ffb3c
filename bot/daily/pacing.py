"""Rate limits while posting daily: one limit pauses every post to that platform.

Kept apart from the scheduler because it is the one piece that waits: how long (the platform's
`retry_after`, at most a `budget` well inside the claim's lease), for whom (every post to that
platform), and what a stop does to a wait (ends it at once; nothing was sent, so the scheduler
gives the claim back).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from bot import ops
from bot.poster import PostError, RateLimited

if TYPE_CHECKING:
    from bot.poster import Poster
    from bot.storage import Subscription
    from maxims import Maxim

log = logging.getLogger(__name__)


class Stopping(Exception):
    """The process is stopping: give the claim back rather than post."""


class Pacing:
    """Posts through a `Poster`, waiting out rate limits shared by every post to a platform."""

    def __init__(self, stopping: asyncio.Event, *, budget: float) -> None:
        self.stopping = stopping  # set when the process stops: waits end at once
        self.budget = budget  # seconds a post may spend waiting out limits (< the lease)
        self._not_before: dict[str, float] = {}  # platform -> monotonic time of its limit
        self.cut_off: set[str] = set()  # keys whose post was cancelled while on its way

    async def post(self, poster: Poster, sub: Subscription, maxim: Maxim, key: str) -> str:
        """Post `sub`'s maxim, waiting out rate limits; one limit pauses every post to a platform.

        Waiting is not failing: limits are waited out for up to half the claim's lease, so a
        busy minute never turns into failed posts (the lease must outlive the wait). A stop
        ends the wait at once: nothing was sent, so the claim is given back (`Stopping`).
        """
        budget = time.monotonic() + self.budget
        while True:
            wait = self._not_before.get(poster.platform, 0.0) - time.monotonic()
            if self.stopping.is_set():
                raise Stopping
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stopping.wait(), wait)
                continue  # another post may have met a new limit meanwhile: look again
            try:
                return await poster.post(
                    sub.channel,
                    maxim,
                    key=key,
                    workspace=sub.workspace,
                    style=sub.style,
                    thread=sub.thread,
                )
            except asyncio.CancelledError:
                self.cut_off.add(key)
                raise
            except RateLimited as limit:
                until = time.monotonic() + limit.retry_after
                if until > budget:
                    raise PostError("rate limited for too long") from None
                if until > self._not_before.get(poster.platform, 0.0):
                    self._not_before[poster.platform] = until
                log.debug("rate limited on %s; waiting %.2fs", poster.platform, limit.retry_after)
                ops.record_rate_limited(poster.platform)
