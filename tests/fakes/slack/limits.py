"""Slack's conversations.history limit for apps distributed outside the Marketplace.

Why this exists: since 2025-05-29 a newly created app that is installed in other workspaces
but not listed in the Slack Marketplace may call conversations.history (and .replies) only
once a minute per workspace, with ``limit`` capped at 15.  A bot that reads history must
cope with that (HTTP 429 + ``Retry-After``, short pages), and `FakeSlack.history_rate_limit`
switches this model of it on.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["HistoryRateLimit", "PostRateLimit"]

WINDOW_SECONDS = 60.0


@dataclass
class HistoryRateLimit:
    """At most ``per_minute`` calls per workspace in any 60 s, each showing ``max_limit``."""

    per_minute: int = 1
    max_limit: int = 15
    _calls: dict[str, deque[float]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        """Refuse a limit that could never admit a call or show a message."""
        if self.per_minute < 1 or self.max_limit < 1:
            raise ValueError("per_minute and max_limit must be >= 1")

    def retry_after(self, team_id: str, now: float) -> int | None:
        """Seconds ``team_id`` must wait (rounded up, at least 1), or None: call counted.

        The window slides: a call is admitted once the oldest of the last ``per_minute``
        admitted calls is 60 s old.  Refused calls do not count, as with Slack.
        """
        calls = self._calls.setdefault(team_id, deque())
        while calls and now - calls[0] >= WINDOW_SECONDS:
            calls.popleft()
        if len(calls) >= self.per_minute:
            return max(1, math.ceil(calls[0] + WINDOW_SECONDS - now))
        calls.append(now)
        return None

    def cap(self, limit: int) -> int:
        """The page size Slack really serves for a requested ``limit``."""
        return min(limit, self.max_limit)


@dataclass
class PostRateLimit:
    """chat.postMessage's limits: one message a second per channel, and throttled workspaces.

    Slack allows an app about one message per second in a channel (short bursts are not
    guaranteed), and keeps a workspace-wide limit of its own: `throttle` makes a workspace
    answer every post with 429 until a time, as Slack does to a workspace over its limit.
    """

    channel_interval: float = 1.0
    throttled: dict[str, float] = field(default_factory=dict)  # team id -> limited until
    # team id -> the Retry-After it always answers (else: the seconds left, rounded up)
    retry_afters: dict[str, int] = field(default_factory=dict)
    _last: dict[str, float] = field(default_factory=dict, repr=False)  # channel -> last post

    def retry_after(self, team_id: str, channel: str, now: float) -> int | None:
        """Seconds to wait (rounded up, at least 1), or None: the post is admitted.

        Refused posts do not count towards the channel's second.
        """
        until = self.throttled.get(team_id)
        if until is not None and now < until:
            return self.retry_afters.get(team_id) or max(1, math.ceil(until - now))
        last = self._last.get(channel)
        if last is not None and now - last < self.channel_interval:
            return max(1, math.ceil(last + self.channel_interval - now))
        self._last[channel] = now
        return None
