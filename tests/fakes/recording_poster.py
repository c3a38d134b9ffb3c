"""A `Poster` for tests: records every post and can answer with rate limits or failures.

Besides what was posted it records what a platform would hold against the caller: calls that
came before a rate limit's `retry_after` had passed (`too_early`), and the most posts it ever
had in flight at once (`max_in_flight`). Time is `clock` (time.monotonic unless a test passes
its own), read only to timestamp calls, never slept on except for `delay`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.poster import PLATFORM_WIDE, ChannelUnavailable, PostError, PostLimits, RateLimited
from maxims import Maxim

EARLY_TOLERANCE = 0.001  # seconds: asyncio may wake a timer this much early (clock resolution)


@dataclass
class RecordingPoster:
    """Records posts as (channel, maxim number, key); `find_post` looks them up by key."""

    platform: str = "console"
    rate_limits: PostLimits = PLATFORM_WIDE  # where it keeps them (Slack's: per workspace)
    sent: list[tuple[str, int, str]] = field(default_factory=list)
    rate_limit_every: int = 0  # every Nth call answers "wait a moment" instead
    retry_after: float = 0.01
    gone: set[str] = field(default_factory=set)  # channels that answer "no such channel"
    failing: dict[str, int] = field(default_factory=dict)  # channel -> transient failures left
    delay: float = 0.0
    gate: asyncio.Event | None = None  # when set, each post waits for it (a slow platform)
    calls: int = 0
    clock: Callable[[], float] = time.monotonic
    limits: int = 0  # rate-limit answers given
    limited_until: float = 0.0  # no call should start before this (the last retry_after)
    too_early: list[tuple[str, float]] = field(default_factory=list)  # (channel, how early)
    in_flight: int = 0
    max_in_flight: int = 0
    attempts: dict[str, int] = field(default_factory=dict)  # channel -> calls
    # ("post" or "find_post", channel, workspace) for every call: what the platform was told
    asked: list[tuple[str, str, str]] = field(default_factory=list)
    styles: dict[str, str] = field(default_factory=dict)  # key -> the style it was posted in
    threads: dict[str, bool] = field(default_factory=dict)  # key -> whether it asked for a thread

    async def post(
        self,
        channel: str,
        maxim: Maxim,
        *,
        key: str,
        workspace: str = "",
        style: str = "text",
        thread: bool = False,
    ) -> str:
        self.calls += 1
        self.styles[key] = style
        self.threads[key] = thread
        self.asked.append(("post", channel, workspace))
        limited = bool(self.rate_limit_every) and self.calls % self.rate_limit_every == 0
        self.attempts[channel] = self.attempts.get(channel, 0) + 1
        started = self.clock()
        if started < self.limited_until - EARLY_TOLERANCE:
            self.too_early.append((channel, self.limited_until - started))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.gate is not None:
                await self.gate.wait()
            if limited:
                self.limits += 1
                self.limited_until = max(self.limited_until, self.clock() + self.retry_after)
                raise RateLimited(self.retry_after)
            if channel in self.gone:
                raise ChannelUnavailable("channel_not_found")
            if self.failing.get(channel, 0) > 0:
                self.failing[channel] -= 1
                raise PostError("server_error")
            self.sent.append((channel, maxim.number, key))
            return f"m{len(self.sent)}"
        finally:
            self.in_flight -= 1

    async def find_post(
        self, channel: str, key: str, *, since: object = None, workspace: str = ""
    ) -> str | None:
        self.asked.append(("find_post", channel, workspace))
        for index, (_, _, sent_key) in enumerate(self.sent, 1):
            if sent_key == key:
                return f"m{index}"
        return None

    def channels(self) -> list[str]:
        return [channel for channel, _, _ in self.sent]
