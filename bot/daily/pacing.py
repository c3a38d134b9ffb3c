"""Rate limits and concurrency while posting daily: each limit kept where the platform keeps it.

Kept apart from the scheduler because it is the one piece that waits: how long (the platform's
`retry_after`, at most a `budget` well inside the claim's lease), for whom (the poster's
`PostLimits` say: Slack pauses only the workspace that was limited, and spaces two posts to
one channel a second apart; Discord and the console pause the whole platform), and what a stop
does to a wait (ends it at once; nothing was sent, so the scheduler gives the claim back).

Concurrency has three bounds. `max_concurrent_posts` is the process-wide ceiling on posts on
their way to a platform (a request sent, its answer not back); `per_workspace` bounds each
(platform, workspace)'s posts from their claim to their answer; and as many again as the
ceiling may be claimed and ready to go, so the next posts' claims are in the database while
the ceiling's posts are on their way and a place that frees is used at once, not after a
claim's round trip. A post takes its workspace's slot first, waits there for its workspace's
limit to lift, then takes a ready place (and is claimed), then a place on the way, giving the
ready place back; its answer gives back its places, before the post is recorded. A rate
limit met on the way gives back the place for the length of the wait. So a post held back by
its own workspace (its slots all taken, or a 429) never holds a place the rest of the process
could use: one throttled workspace with many channels costs the others nothing. After such a
wait a post queues for a place on the way behind at most the ready posts; it holds its claim
meanwhile, which is safe (a process that beats is never robbed of a claim).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot import ops
from bot.poster import PostError, RateLimited

if TYPE_CHECKING:
    from bot.config import ScheduleConfig
    from bot.poster import Poster
    from bot.storage import Subscription
    from maxims import Maxim

log = logging.getLogger(__name__)
PRUNE_ABOVE = 1024  # entries of a time table before the ones in the past are dropped


class Stopping(Exception):
    """The process is stopping: give the claim back rather than post."""


@dataclass(frozen=True)
class Timer:
    """How pacing's waits pass: real time, or the emulated time of a test."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep


class _Until(dict[tuple[str, str], float]):
    """Times keyed by (platform, workspace or channel); those past are dropped now and then.

    Pruned when it has doubled since the last pruning, so memory stays bounded and a busy
    minute (a few hundred channels a second) costs no more than O(1) per entry.
    """

    def __init__(self) -> None:
        super().__init__()
        self.prune_at = PRUNE_ABOVE

    def put(self, key: tuple[str, str], until: float, now: float) -> None:
        self[key] = until
        if len(self) > self.prune_at:
            for past in [k for k, t in self.items() if t <= now]:
                del self[past]
            self.prune_at = max(PRUNE_ABOVE, 2 * len(self))


Place = Literal["lane", "ready", "pool"]  # the workspace's slot, ready, on the way


class _Ticket:
    """The places one post holds on its way, each given back once (`give_back`)."""

    def __init__(self, lane: asyncio.Semaphore, ready: asyncio.Semaphore, pool: _Pool) -> None:
        self._held: dict[Place, asyncio.Semaphore] = {}
        self._places: dict[Place, asyncio.Semaphore] = {"lane": lane, "ready": ready, "pool": pool}

    async def take(self, place: Place) -> None:
        """Wait for one of `place` and hold it."""
        if place not in self._held:
            await self._places[place].acquire()
            self._held[place] = self._places[place]

    def give_back(self, *places: Place) -> None:
        """Give back `places` (all when none is named) that are held."""
        for place in places or tuple(self._held):
            held = self._held.pop(place, None)
            if held is not None:
                held.release()


class _Pool(asyncio.Semaphore):
    """The process-wide places on the way, counting those taken (`on_the_way`)."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.on_the_way = 0

    async def acquire(self) -> Literal[True]:
        await super().acquire()
        self.on_the_way += 1
        return True

    def release(self) -> None:
        self.on_the_way -= 1
        super().release()


@dataclass
class _Lane:
    """A workspace's own slots, kept only while one of its posts is under way."""

    slots: asyncio.Semaphore
    users: int = field(default=0)


# The places held by the task delivering a post: `Pacing.post` finds them here to trade them
# as the post goes, so `deliver` (also called on its own, holding none) needs no new argument.
_held: ContextVar[_Ticket | None] = ContextVar("daily_post_places", default=None)


class Pacing:
    """Posts through a `Poster`, keeping each rate limit where the platform keeps it."""

    def __init__(
        self,
        stopping: asyncio.Event,
        *,
        budget: float,
        max_concurrent_posts: int = 8,
        per_workspace: int = 4,
        timer: Timer | None = None,
    ) -> None:
        """`timer` is how waits pass (default: real time; tests move an emulated one)."""
        self.stopping = stopping  # set when the process stops: waits end at once
        self.budget = budget  # seconds a post may spend waiting out limits (< the lease)
        self.per_workspace = per_workspace
        timer = timer or Timer()
        self.clock = timer.clock
        self.sleep = timer.sleep
        self._pool = _Pool(max_concurrent_posts)  # the process-wide ceiling, on the way
        self._ready = asyncio.Semaphore(max_concurrent_posts)  # claimed (or claiming), not sent
        self._lanes: dict[tuple[str, str], _Lane] = {}  # (platform, workspace) -> its slots
        # (platform, workspace) of a Slack-like poster, else (platform, "") -> `clock` time
        # before which no post may go there (the last rate limit's end)
        self._not_before = _Until()
        self._channel_free = _Until()  # (platform, channel) -> time its next post may go
        self.cut_off: set[str] = set()  # keys whose post was cancelled while on its way

    @classmethod
    def for_config(
        cls, config: ScheduleConfig, stopping: asyncio.Event, timer: Timer | None = None
    ) -> Pacing:
        """Pacing as ``[schedule]`` sets it; a wait may use half the claim's lease."""
        return cls(
            stopping,
            budget=config.claim_timeout_seconds / 2,
            max_concurrent_posts=config.max_concurrent_posts,
            per_workspace=config.max_concurrent_per_workspace,
            timer=timer,
        )

    @property
    def on_the_way(self) -> int:
        """Posts of this process sent and not answered yet."""
        return self._pool.on_the_way

    @contextlib.asynccontextmanager
    async def slot(self, poster: Poster, sub: Subscription) -> AsyncIterator[None]:
        """Hold a ready place to claim and deliver `sub`'s post: its workspace's slot first.

        In between, the post waits for its workspace's (or channel's) rate limit to lift,
        holding no claim and no process-wide place. At a stop it yields at once, holding no
        process-wide place: the caller looks at `stopping` before claiming anything.
        `post` trades the ready place for one on the way, and gives every place back at
        the platform's answer; whatever is still held is given back here.
        """
        key = (sub.platform, sub.workspace)
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane(asyncio.Semaphore(self.per_workspace))
        lane.users += 1
        ticket = _Ticket(lane.slots, self._ready, self._pool)
        try:
            await ticket.take("lane")
            while not self.stopping.is_set() and (wait := self._wait_for(poster, sub)) > 0:
                await self._nap(wait)
            if not self.stopping.is_set():
                await ticket.take("ready")
            token = _held.set(ticket)
            try:
                yield
            finally:
                _held.reset(token)
        finally:
            ticket.give_back()
            lane.users -= 1
            if not lane.users:
                del self._lanes[key]

    async def post(self, poster: Poster, sub: Subscription, maxim: Maxim, key: str) -> str:
        """Post `sub`'s maxim, waiting out rate limits where the platform keeps them.

        Waiting is not failing: limits are waited out for up to half the claim's lease, so a
        busy minute never turns into failed posts (the lease must outlive the wait). A stop
        ends the wait at once: nothing was sent, so the claim is given back (`Stopping`).
        """
        budget = self.clock() + self.budget
        ticket = _held.get()
        while True:
            if self.stopping.is_set():
                raise Stopping
            wait = self._wait_for(poster, sub)
            if wait > 0:
                await self._pause(wait)
                continue  # another post may have met a new limit meanwhile: look again
            if ticket is not None:
                await ticket.take("pool")
                ticket.give_back("ready")
                if self.stopping.is_set() or self._wait_for(poster, sub) > 0:
                    continue  # the stop, or a limit met while this post queued for its place
            self._space_channel(poster, sub)  # a post to this channel waits for this one
            try:
                posted = await poster.post(
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
                until = self.clock() + limit.retry_after
                if until > budget:
                    raise PostError("rate limited for too long") from None
                self._limit(self._limit_key(poster, sub), until)
                log.debug(
                    "rate limited on %s %s; waiting %.2fs",
                    poster.platform,
                    sub.workspace if poster.rate_limits.per_workspace else "(all workspaces)",
                    limit.retry_after,
                )
                ops.record_rate_limited(poster.platform)
                continue
            finally:
                self._space_channel(poster, sub)  # again, from the answer: `_space_channel`
                if ticket is not None:
                    ticket.give_back("pool")
            if ticket is not None:
                ticket.give_back()  # answered: the workspace's next post may go
            return posted

    @staticmethod
    def _limit_key(poster: Poster, sub: Subscription) -> tuple[str, str]:
        """What one rate-limit answer pauses: the workspace (Slack) or the whole platform."""
        return (poster.platform, sub.workspace if poster.rate_limits.per_workspace else "")

    def _wait_for(self, poster: Poster, sub: Subscription) -> float:
        """Seconds before a post to `sub`'s channel may go: its limit, then its channel's."""
        until = self._not_before.get(self._limit_key(poster, sub), 0.0)
        if poster.rate_limits.channel_interval:
            until = max(until, self._channel_free.get((poster.platform, sub.channel), 0.0))
        return until - self.clock()

    def _limit(self, key: tuple[str, str], until: float) -> None:
        if until > self._not_before.get(key, 0.0):
            self._not_before.put(key, until, self.clock())

    def _space_channel(self, poster: Poster, sub: Subscription) -> None:
        """Keep the channel's next post `channel_interval` from now (Slack: 1 s).

        Called as a post starts (a second post to the channel waits at least that long) and
        again at its answer: counted from the answer, the next post reaches the platform a
        whole interval after this one did, however long this one took on its way.
        """
        if poster.rate_limits.channel_interval:
            now = self.clock()
            free = now + poster.rate_limits.channel_interval
            self._channel_free.put((poster.platform, sub.channel), free, now)

    async def _pause(self, seconds: float) -> None:
        """Wait out a limit holding no process-wide place (`post` takes one again after)."""
        held = _held.get()
        if held is not None:
            held.give_back("ready", "pool")
        await self._nap(seconds)

    async def _nap(self, seconds: float) -> None:
        """Sleep `seconds`, or less if the process stops meanwhile."""
        stop = asyncio.ensure_future(self.stopping.wait())
        nap = asyncio.ensure_future(self.sleep(seconds))
        try:
            await asyncio.wait((stop, nap), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            nap.cancel()
