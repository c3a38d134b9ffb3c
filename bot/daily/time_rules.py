"""When a daily post is due: wall-clock times in a zone, daylight saving, descriptions.

Pure functions of their arguments (no clock, no scheduler, no SDK), so the `/maxim daily`
commands, the scheduler and the tests agree on one set of rules:

* a time that occurs twice (clocks going back) means its first occurrence;
* a time that does not occur (clocks going forward) means the first valid minute after it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

UTC = dt.UTC


def scheduled_instant(day: dt.date, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The UTC instant of wall-clock `at` on `day` in `zone`.

    A time that occurs twice (clocks going back) means its first occurrence; a time that does
    not occur (clocks going forward) means the first valid minute after it.
    """
    local = dt.datetime.combine(day, at).replace(tzinfo=zone, fold=0)
    for _ in range(24 * 60):
        instant = local.astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
            return instant
        local += dt.timedelta(minutes=1)  # inside a gap: walk to the first valid minute
    raise ValueError(f"no valid time near {at} on {day} in {zone.key}")


def next_instant(now: dt.datetime, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The first scheduled instant strictly after `now`."""
    day = now.astimezone(zone).date() - dt.timedelta(days=1)
    while True:
        instant = scheduled_instant(day, at, zone)
        if instant > now:
            return instant
        day += dt.timedelta(days=1)


def describe_next(instant: dt.datetime, zone: str, now: dt.datetime) -> str:
    """``Mon 30 Nov 09:00 CET (in 14 h 5 min)``: when the next post comes, in the channel's zone."""
    local = instant.astimezone(ZoneInfo(zone))
    minutes = max(int((instant - now).total_seconds() // 60), 0)
    hours, mins = divmod(minutes, 60)
    delta = f"{hours} h {mins} min" if hours else f"{mins} min"
    return f"{local:%a %d %b %H:%M} {local.tzname()} (in {delta})"
