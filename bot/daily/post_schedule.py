"""When a daily post fires and what identifies it: the trigger, its slot, its key.

Kept apart from the scheduler so that `bot.daily.time_rules` stays pure (no APScheduler) and
the scheduler module holds only delivery.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger

from bot.daily.time_rules import next_instant

if TYPE_CHECKING:
    from bot.storage import Subscription


class DailyTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """Fires once a day at a wall-clock time in a zone, with `scheduled_instant`'s DST rules.

    APScheduler's CronTrigger fires twice on a day when clocks go back and, when they go
    forward, at the skipped time's old-offset reading; this trigger fires exactly once.
    """

    def __init__(self, at: dt.time, zone: str) -> None:
        self.at = at
        self.zone = ZoneInfo(zone)

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime:
        """Next instant after the previous fire (or from now on)."""
        after = previous_fire_time or (now - dt.timedelta(microseconds=1))
        return next_instant(max(after, now - dt.timedelta(microseconds=1)), self.at, self.zone)

    def __str__(self) -> str:
        return f"daily at {self.at:%H:%M} {self.zone.key}"


def slot_of(sub: Subscription) -> tuple[dt.time, str]:
    """The (local time, zone) group a subscription is posted with."""
    return (sub.time, sub.timezone)


def post_key(platform: str, channel: str, day: dt.date) -> str:
    """The idempotency key of one daily post."""
    return f"maxim-daily:{platform}:{channel}:{day.isoformat()}"
