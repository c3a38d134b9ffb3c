"""A `Poster` for tests: records every post and can answer with rate limits or failures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.poster import ChannelUnavailable, PostError, RateLimited
from maxims import Maxim


@dataclass
class RecordingPoster:
    """Records posts as (channel, maxim number, key); `find_post` looks them up by key."""

    platform: str = "console"
    sent: list[tuple[str, int, str]] = field(default_factory=list)
    rate_limit_every: int = 0  # every Nth call answers "wait a moment" instead
    retry_after: float = 0.01
    gone: set[str] = field(default_factory=set)  # channels that answer "no such channel"
    failing: dict[str, int] = field(default_factory=dict)  # channel -> transient failures left
    delay: float = 0.0
    calls: int = 0

    async def post(self, channel: str, maxim: Maxim, *, key: str) -> str:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.rate_limit_every and self.calls % self.rate_limit_every == 0:
            raise RateLimited(self.retry_after)
        if channel in self.gone:
            raise ChannelUnavailable("channel_not_found")
        if self.failing.get(channel, 0) > 0:
            self.failing[channel] -= 1
            raise PostError("server_error")
        self.sent.append((channel, maxim.number, key))
        return f"m{len(self.sent)}"

    async def find_post(self, channel: str, key: str) -> str | None:
        for index, (_, _, sent_key) in enumerate(self.sent, 1):
            if sent_key == key:
                return f"m{index}"
        return None

    def channels(self) -> list[str]:
        return [channel for channel, _, _ in self.sent]
