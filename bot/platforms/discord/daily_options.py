"""`/maxim-daily`'s options as the one daily grammar reads them.

Discord gives each option its own box (time, zone, days, style, thread); the bot joins them
into ``daily 09:00 Europe/Berlin mon-fri card thread`` and hands that to the same parser as
`/maxim daily` on every platform, so there is no second grammar to keep in step. Only the
days box is read first, with the core's days parser: a word there is meant as days, and
``funday`` must be answered as a bad day, not taken for a time zone.
"""

from __future__ import annotations

from typing import Literal

from maxims.weekdays import describe_days, parse_days

Style = Literal["text", "card"]


def daily_query(
    time: str | None,
    zone: str | None,
    days: str | None = None,
    style: Style | None = None,
    thread: bool | None = None,
) -> str:
    """The `/maxim daily ...` text of the options given; `DaysError` for a bad days box.

    The days go in their canonical form (``mon,wed``, ``every day``), which the grammar reads
    back as one value whatever was typed (``Mon, Wed``).
    """
    canonical = describe_days(parse_days(days)) if days and days.strip() else None
    switch = None if thread is None else ("thread" if thread else "no-thread")
    return " ".join(["daily", *(p for p in (time, zone, canonical, style, switch) if p)])
