"""When a daily post is due: wall-clock times in a zone, daylight saving, descriptions.

Pure functions of their arguments (no clock, no scheduler, no SDK), so the `/maxim daily`
commands, the scheduler and the tests agree on one set of rules:

* a time that occurs twice (clocks going back) means its first occurrence;
* a time that does not occur (clocks going forward) means the first valid minute after it;
* chosen days (a weekday mask, `maxims.weekdays`) are local days in the subscription's zone:
  ``mon-fri`` in Pacific/Auckland skips Auckland's Saturday, whatever day it is in UTC.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from maxims.weekdays import EVERY_DAY, is_chosen

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


def posts_on(day: dt.date, days: int) -> bool:
    """Whether local date `day` is one of the chosen `days` (a weekday mask)."""
    return is_chosen(day.weekday(), days)


def next_post_day(day: dt.date, days: int) -> dt.date:
    """The first chosen local date on or after `day` (at most six days on)."""
    for offset in range(7):
        if posts_on(candidate := day + dt.timedelta(days=offset), days):
            return candidate
    return day  # no day chosen: storage never holds that, read it as every day


def next_instant(
    now: dt.datetime, at: dt.time, zone: ZoneInfo, days: int = EVERY_DAY
) -> dt.datetime:
    """The first scheduled instant strictly after `now`, on a chosen local day."""
    day = now.astimezone(zone).date() - dt.timedelta(days=1)
    while True:
        day = next_post_day(day, days)
        instant = scheduled_instant(day, at, zone)
        if instant > now:
            return instant
        day += dt.timedelta(days=1)


def due_day(
    now: dt.datetime, at: dt.time, zone: ZoneInfo, days: int, grace: dt.timedelta
) -> dt.date | None:
    """Today's local date if its post time passed within `grace`, else None.

    Only today counts: a process that comes back after midnight never posts yesterday's,
    and only a chosen local day: catching up never posts on a day off.
    """
    today = now.astimezone(zone).date()
    if not posts_on(today, days):
        return None
    start = scheduled_instant(today, at, zone)
    return today if start <= now < start + grace else None


def next_due(
    after: dt.datetime,
    at: dt.time,
    zone: ZoneInfo,
    days: int,
    grace: dt.timedelta,
    *,
    past: dt.date | None = None,
) -> dt.datetime:
    """The first scheduled instant that is, or will be, due (`due_day`) after `after`.

    A post of local day D is due from its instant until `grace` later or D's end, whichever
    comes first. With `past`, days up to it are done (posted or given up) and skipped. The
    sweep stores this as ``due_at`` and reads a row again only once it has come.
    """
    day = (after - grace).astimezone(zone).date()  # an earlier day's post ended before `after`
    if past is not None:
        day = max(day, past + dt.timedelta(days=1))
    while True:
        day = next_post_day(day, days)
        start = scheduled_instant(day, at, zone)
        ends = min(start + grace, scheduled_instant(day + dt.timedelta(days=1), dt.time(0), zone))
        if ends > after:
            return start
        day += dt.timedelta(days=1)


def describe_next(instant: dt.datetime, zone: str, now: dt.datetime) -> str:
    """``Mon 30 Nov 09:00 Europe/Berlin (in 14 h 5 min)``: when the next post comes, and its wait.

    The zone is named as the user typed it (IANA), not abbreviated: "CET" or "IST" are ambiguous
    and do not match what `/maxim daily` was given.
    """
    minutes = max(int((instant - now).total_seconds() // 60), 0)
    hours, mins = divmod(minutes, 60)
    delta = f"{hours} h {mins} min" if hours else f"{mins} min"
    return f"{describe_when(instant, zone)} (in {delta})"


def describe_when(instant: dt.datetime, zone: str) -> str:
    """``Mon 07 Dec 09:00 Europe/Berlin``: an instant in the channel's zone, named as given."""
    return f"{instant.astimezone(ZoneInfo(zone)):%a %d %b %H:%M} {zone}"
