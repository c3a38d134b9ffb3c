"""Recording outcomes for the metrics: what commands, rules and daily posts call as they happen.

The chat service, the platforms and the scheduler call these functions (through `bot.ops`,
which hands the names on) where an outcome happens. They are light on purpose: this module
imports neither prometheus_client nor aiohttp, and every function does nothing while no
`Recorder` is active (the probe server is off, or a test drives a platform alone), so the hot
paths pay one context-variable read.

The active recorder lives in a context variable that `bot.ops.serving` sets for the bot's
lifetime: every task the bot starts (SDK callbacks, scheduler jobs, the servers' handlers)
inherits it. So two bots in one process (the tests) count into their own registries, and no
constructor between the runner and an SDK callback needs a new argument.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Protocol

from maxims import ListReply, MaximReply, Reply, TextReply

COMMAND_KINDS = ("number", "random", "today", "search", "list", "help", "daily", "stats", "error")
DAILY_OUTCOMES = ("posted", "failed", "duplicate_avoided", "taken_over")


class Recorder(Protocol):
    """Where outcomes are counted (`bot.ops.metrics.Metrics`); label values are bounded."""

    def command(self, platform: str, kind: str, seconds: float) -> None:
        """One command answered (or acknowledged) `seconds` after it arrived."""
        ...

    def trigger(self, platform: str, rule: str, *, answered: bool) -> None:
        """A trigger rule matched: answered, or suppressed by its cooldown."""
        ...

    def daily_post(self, platform: str, outcome: str) -> None:
        """One daily post's outcome (one of `DAILY_OUTCOMES`)."""
        ...

    def rate_limited(self, platform: str) -> None:
        """A platform asked us to slow down."""
        ...

    def share(self, platform: str) -> None:
        """Someone shared a maxim from their preview (Send / Post)."""
        ...

    def subscriptions(self, platform: str, count: int) -> None:
        """How many channels of `platform` have a daily post."""
        ...


active: ContextVar[Recorder | None] = ContextVar("maxim_recorder", default=None)


def command_kind(reply: Reply | None) -> str:
    """The `kind` label of a command, from the core's reply: the one place that maps them.

    A search that found nothing is still a search; `notice` replies come only from the
    `/maxim daily` commands, whose refusals (not an admin) are errors like any other.
    """
    if isinstance(reply, MaximReply):
        return reply.kind if reply.kind in COMMAND_KINDS else "random"
    if isinstance(reply, ListReply):
        return "list"
    if isinstance(reply, TextReply):
        return {"help": "help", "notice": "daily", "not_found": "search", "stats": "stats"}.get(
            reply.status, "error"
        )
    return "error"


def started() -> float:
    """The moment an event arrived, for `record_command`'s duration."""
    return time.perf_counter()


def record_command(platform: str, kind: str, since: float) -> None:
    """Count a command of `kind` (see `command_kind`) answered now, received at `since`."""
    recorder = active.get()
    if recorder is not None:
        recorder.command(platform, kind, time.perf_counter() - since)


def record_reply(platform: str, reply: Reply | None, since: float) -> None:
    """`record_command` for a reply of the core.

    Its kind is named even with metrics off: that costs less than asking twice whether they
    are on.
    """
    record_command(platform, command_kind(reply), since)


def record_trigger(platform: str, rule: str, *, answered: bool) -> None:
    """A rule matched a message: answered, or kept quiet by its cooldown."""
    recorder = active.get()
    if recorder is not None:
        recorder.trigger(platform, rule, answered=answered)


def record_daily_post(platform: str, outcome: str) -> None:
    """A daily post's outcome: posted, failed, duplicate_avoided or taken_over."""
    recorder = active.get()
    if recorder is not None:
        recorder.daily_post(platform, outcome)


def record_share(platform: str) -> None:
    """A maxim shared from a preview (Slack Send, Discord Post)."""
    recorder = active.get()
    if recorder is not None:
        recorder.share(platform)


def record_rate_limited(platform: str) -> None:
    """A platform rate-limited us."""
    recorder = active.get()
    if recorder is not None:
        recorder.rate_limited(platform)


def record_subscriptions(platforms: Iterable[str], subscribed: Iterable[str]) -> None:
    """The daily-post gauge: `subscribed` holds one platform name per subscription."""
    recorder = active.get()
    if recorder is not None:
        counts = Counter(subscribed)
        for platform in platforms:
            recorder.subscriptions(platform, counts[platform])
