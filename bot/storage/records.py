"""What storage hands to the rest of the bot: plain frozen records, no SQLAlchemy.

Callers (the scheduler, the `/maxim daily` commands, the adapters) read these and never see a
row or a table, so the schema can change without touching them. Datetimes in a record are
always timezone-aware UTC.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Final, NamedTuple

POST_STATES: Final = ("claimed", "posted", "failed", "abandoned")


@dataclass(frozen=True)
class Subscription:
    """A channel that receives the daily post at a local wall-clock time."""

    platform: str  # "console" | "slack" | "discord"
    workspace: str  # Slack team id / Discord guild id / "" for console
    channel: str
    time: datetime.time  # local wall-clock HH:MM
    timezone: str  # IANA name
    set_by: str  # user id, or "config"
    set_at: datetime.datetime
    source: str = "command"  # "command" (set in chat) or "config" (a [[daily]] entry)
    failing: str | None = None  # why posting keeps failing (channel gone...), None when healthy
    style: str = "text"  # "text" (the maxim as a message) or "card" (as a picture)
    days: int = 0b1111111  # the local weekdays it posts on: bit 0 Monday ... bit 6 Sunday
    thread: bool = False  # the post opens a thread to talk about it (Discord) / invites replies
    enterprise: str = ""  # the Slack Enterprise Grid org it was set in; "" outside one


@dataclass(frozen=True)
class PostRecord:
    """The state of one daily post, unique per (platform, channel, local_date)."""

    platform: str
    channel: str
    local_date: datetime.date
    maxim_number: int
    state: str  # "claimed" | "posted" | "failed" (will be retried) | "abandoned" (gave up)
    owner: str
    attempts: int
    message_id: str | None
    error: str | None
    claimed_at: datetime.datetime
    lease_until: datetime.datetime
    next_attempt_at: datetime.datetime | None
    posted_at: datetime.datetime | None


class WantedPost(NamedTuple):
    """A daily post a scheduler wants to claim: its key, and the maxim it would post."""

    platform: str
    channel: str
    local_date: datetime.date
    maxim_number: int


@dataclass(frozen=True)
class DueSubscription:
    """A subscription the sweep must look at, with the `due_at` it was read with."""

    sub: Subscription
    due_at: datetime.datetime | None  # None: not computed yet (new, or changed)


@dataclass(frozen=True)
class SlotCount:
    """How many subscriptions of a platform post at a (time, zone) on the same days."""

    platform: str
    time: datetime.time
    timezone: str
    days: int
    count: int


STAT_KINDS: Final = ("asked", "shared", "posted", "nan")
"""What is counted: maxims asked for, shared from a preview, posted daily, and NaNs answered."""


@dataclass(frozen=True)
class StatsSummary:
    """A workspace's counts: by kind over the last days and all time, and the most asked-for."""

    recent: dict[str, int]  # kind -> count over the recent window (today included)
    total: dict[str, int]  # kind -> count over all that is kept
    top: tuple[tuple[int, int], ...]  # (maxim number, times asked for), most first
    days: int  # the recent window, in days
