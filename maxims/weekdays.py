"""The days a daily post comes on: a 7-bit mask of weekdays (bit 0 Monday ... bit 6 Sunday).

A mask, not a set of names, because storage keeps one small integer and the rotation counts
chosen days with two bit counts. `parse_days` reads what people type (``mon-fri``,
``mon,wed,fri``, ``tue-thu,sat``, ``weekdays``, ``daily``, ``every day``); `describe_days`
writes the canonical form back (``mon-fri``), so both read the same.
"""

from __future__ import annotations

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = 0b1111111
WEEKDAYS = 0b0011111
DAYS_HINT = "use mon–sun, ranges like mon-fri, or weekdays"
_WORDS = {"daily": EVERY_DAY, "everyday": EVERY_DAY, "weekdays": WEEKDAYS}


class DaysError(ValueError):
    """A word that is not a day; `word` is the offending part, as typed."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def _day(name: str) -> int:
    try:
        return DAY_NAMES.index(name)
    except ValueError:
        raise DaysError(name) from None


def parse_days(text: str) -> int:
    """The mask of `text` (case-insensitive), or `DaysError` naming the first bad part.

    Parts are separated by commas, spaces or both.
    A range wraps past Sunday (``fri-mon`` is Friday to Monday), as a team would mean it.
    """
    lowered = text.strip().lower()
    if " ".join(lowered.split()) == "every day" or lowered in _WORDS:
        return _WORDS.get(lowered, EVERY_DAY)
    mask = 0
    # ``mon, wed`` and ``mon wed`` are lists too (typed in one box, or ``mon,`` then ``wed``).
    for part in lowered.replace(",", " ").split():
        first, dash, last = part.partition("-")
        if dash and not last:
            raise DaysError(part)
        start = _day(first)
        end = _day(last) if dash else start
        span = (end - start) % 7
        for offset in range(span + 1):
            mask |= 1 << ((start + offset) % 7)
    if not mask:
        raise DaysError(text.strip())
    return mask


def is_days(word: str) -> bool:
    """Whether `word` reads as days (so the daily grammar can take it in any position)."""
    try:
        parse_days(word)
    except DaysError:
        return False
    return True


def looks_like_days(word: str) -> bool:
    """Whether `word` was meant as days: ends in ``day``, is a list, or a range naming a day.

    Used to tell ``funday`` (a bad day) from ``Europe/Berlin`` (a zone), for a useful error.
    """
    lowered = word.lower()
    if lowered.endswith("day") or "," in lowered:
        return True
    return "/" not in lowered and any(p in DAY_NAMES for p in lowered.split("-"))


def describe_days(mask: int) -> str:
    """``every day``, ``weekdays``, or the canonical list, ranges of three days or more merged."""
    if mask & EVERY_DAY == EVERY_DAY:
        return "every day"
    if mask == WEEKDAYS:
        return "weekdays"
    runs: list[str] = []
    day = 0
    while day < 7:
        if not mask >> day & 1:
            day += 1
            continue
        end = day
        while end + 1 < 7 and mask >> (end + 1) & 1:
            end += 1
        if end - day >= 2:
            runs.append(f"{DAY_NAMES[day]}-{DAY_NAMES[end]}")
        else:
            runs.extend(DAY_NAMES[day : end + 1])
        day = end + 1
    return ",".join(runs)


def is_chosen(weekday: int, mask: int) -> bool:
    """Whether `weekday` (0 Monday ... 6 Sunday, as `date.weekday()`) is in `mask`."""
    return bool(mask >> weekday & 1)


def chosen_before(days_since_monday_epoch: int, mask: int) -> int:
    """How many chosen days lie in ``[epoch, epoch + n)``, for an epoch that is a Monday.

    Negative `n` counts backwards (a negative result), so the count is monotonic everywhere.
    """
    weeks, rest = divmod(days_since_monday_epoch, 7)
    return weeks * (mask & EVERY_DAY).bit_count() + (mask & ((1 << rest) - 1)).bit_count()
