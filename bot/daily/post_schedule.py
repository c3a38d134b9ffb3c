"""When a daily post fires and what identifies it: the trigger, its slot, its key.

Kept apart from the scheduler so that `bot.daily.time_rules` stays pure (no APScheduler) and
the scheduler module holds only delivery.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
from collections.abc import Container, Iterable, Mapping
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.daily.time_rules import due_day, next_due, next_instant, scheduled_instant
from maxims.weekdays import EVERY_DAY, describe_days

if TYPE_CHECKING:
    from bot.storage import DueSubscription, PostRecord, SlotCount, Subscription


OWNER_RANDOM_BYTES = 8  # 64 bits: a restarted process reusing a pid never wears its old name


def new_owner_id() -> str:
    """``host:pid:random``: readable in the ``processes`` table, unique by its random part.

    Containers restart with the same host name and pid 1, so only the random part tells a
    process from its predecessor, whose claims must not look like ours; 64 bits make a
    collision between any two processes ever sharing a database practically impossible.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(OWNER_RANDOM_BYTES)}"


class DailyTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """Fires once a day at a wall-clock time in a zone, with `scheduled_instant`'s DST rules.

    APScheduler's CronTrigger fires twice on a day when clocks go back and, when they go
    forward, at the skipped time's old-offset reading; this trigger fires exactly once. It
    fires only on the chosen local `days` (a weekday mask): for a slot, those of any of its
    channels, each of which the fan-out then checks.
    """

    def __init__(self, at: dt.time, zone: str, days: int = EVERY_DAY) -> None:
        self.at = at
        self.zone = ZoneInfo(zone)
        self.days = days

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime:
        """Next instant after the previous fire (or from now on)."""
        after = previous_fire_time or (now - dt.timedelta(microseconds=1))
        return next_instant(
            max(after, now - dt.timedelta(microseconds=1)), self.at, self.zone, self.days
        )

    def __str__(self) -> str:
        return f"daily at {self.at:%H:%M} {self.zone.key} ({describe_days(self.days)})"


def due_date(sub: Subscription, now: dt.datetime, grace: dt.timedelta) -> dt.date | None:
    """The local date whose post `sub` has due at `now` (within `grace`), or None."""
    return due_day(now, sub.time, ZoneInfo(sub.timezone), sub.days, grace)


def due_changes(
    read: Iterable[DueSubscription],
    posts: Mapping[tuple[str, str, dt.date], PostRecord],
    now: dt.datetime,
    grace: dt.timedelta,
) -> list[tuple[DueSubscription, dt.datetime]]:
    """The new ``due_at`` of each row the sweep read, where it changes.

    A post due now and not yet done keeps its instant (the row stays due, so retries and
    takeovers are found); one done (posted or given up), or a row whose window has passed
    or was never computed, moves on to its next instant.
    """
    changes = []
    for due in read:
        sub, zone = due.sub, ZoneInfo(due.sub.timezone)
        day = due_date(sub, now, grace)
        record = None if day is None else posts.get((sub.platform, sub.channel, day))
        if day is not None and (record is None or record.state not in ("posted", "abandoned")):
            new = scheduled_instant(day, sub.time, zone)
        else:
            new = next_due(now, sub.time, zone, sub.days, grace, past=day)
        if new != due.due_at:
            changes.append((due, new))
    return changes


def slot_of(sub: Subscription | SlotCount) -> tuple[dt.time, str]:
    """The (local time, zone) group a subscription is posted with."""
    return (sub.time, sub.timezone)


def slot_days(
    subs: Iterable[Subscription | SlotCount], platforms: Container[str]
) -> dict[tuple[dt.time, str], int]:
    """Each slot of `platforms` with the days any of its channels posts on (its job's days)."""
    wanted: dict[tuple[dt.time, str], int] = {}
    for sub in subs:
        if sub.platform in platforms:
            slot = slot_of(sub)
            wanted[slot] = wanted.get(slot, 0) | sub.days
    return wanted


def post_key(platform: str, channel: str, day: dt.date) -> str:
    """The idempotency key of one daily post."""
    return f"maxim-daily:{platform}:{channel}:{day.isoformat()}"


def retry_time(now: dt.datetime, attempts: int, limit: int) -> dt.datetime | None:
    """When a post that failed `attempts` times is tried again (backoff), None past `limit`."""
    if attempts >= limit:
        return None
    return now + dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def claimable(record: PostRecord, now: dt.datetime, dead: set[str]) -> bool:
    """Whether the sweep should try `record` again: a lapsed claim, or a retry that is due."""
    # A superset of what `claim_post` takes (it also knows who still beats), never less.
    if record.state == "claimed":
        return record.owner in dead or record.lease_until <= now
    if record.state == "failed":
        return record.next_attempt_at is not None and record.next_attempt_at <= now
    return False
