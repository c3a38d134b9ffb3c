"""Maxim of the day: a pure function of (date, channel key).

Days are grouped into cycles as long as the corpus. Each cycle is a fresh shuffle seeded by the
cycle number and the channel key, so every maxim appears once before any repeats, every process
computes the same order with no shared state, and channels may get different orders. If a cycle
would start with the maxim that ended the previous one, its first two days swap, so no maxim is
posted two days running across the boundary.

With chosen days (``mon-fri``) the rotation counts posting days, not calendar days: a date maps
to the number of chosen weekdays since the epoch (a Monday), so each maxim still comes once per
cycle of posts. A day that is not chosen gets the next posting day's maxim (what `/maxim
today` shows then), since no chosen day lies between them.

The hash and generator are written out (FNV-1a and SplitMix64) rather than taken from ``random``
or ``hash()``: ``hash()`` of a string changes per process, and the generator behind ``random``
is not promised to stay the same across Python versions.
"""

from __future__ import annotations

from maxims.weekdays import EVERY_DAY, chosen_before

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime

# 2024-01-01, a Monday (the posting-day count relies on that); it anchors where cycles start.
EPOCH_ORDINAL = 738886
_MASK64 = (1 << 64) - 1
_cache: dict[tuple[int, str, int], tuple[int, ...]] = {}


def _fnv1a(data: bytes) -> int:
    h = 0xCBF29CE484222325
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & _MASK64
    return h


class SplitMix64:
    """A tiny, fully specified 64-bit generator (Steele et al.), stable forever."""

    __slots__ = ("state",)

    def __init__(self, seed: int) -> None:
        self.state = seed & _MASK64

    def next(self) -> int:
        """The next 64-bit output."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def randrange(self, n: int) -> int:
        """A number in ``range(n)``; the modulo bias at 64 bits is far below 1e-15."""
        return self.next() % n


def _shuffled(cycle: int, channel_key: str, size: int) -> tuple[int, ...]:
    rng = SplitMix64(_fnv1a(f"{channel_key}\x00{cycle}".encode()))
    order = list(range(1, size + 1))
    for i in range(size - 1, 0, -1):  # Fisher-Yates
        j = rng.randrange(i + 1)
        order[i], order[j] = order[j], order[i]
    return tuple(order)


def cycle_order(cycle: int, channel_key: str, size: int) -> tuple[int, ...]:
    """The maxim numbers of one cycle in posting order."""
    key = (cycle, channel_key, size)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    order = list(_shuffled(cycle, channel_key, size))
    # Only positions 0 and 1 ever move, so the previous cycle's last entry is its raw one.
    if size > 2 and order[0] == _shuffled(cycle - 1, channel_key, size)[-1]:
        order[0], order[1] = order[1], order[0]
    if len(_cache) >= 4096:
        _cache.clear()
    result = _cache[key] = tuple(order)
    return result


def posting_index(day: datetime.date, days: int = EVERY_DAY) -> int:
    """Which post `day` is since the epoch, counting only chosen `days` (a weekday mask).

    On a day that is not chosen: the index of the next posting day. Every day: the day count.
    """
    if not days & EVERY_DAY:
        days = EVERY_DAY  # no day at all cannot be stored; read it as the default
    return chosen_before(day.toordinal() - EPOCH_ORDINAL, days)


def number_for_day(day: datetime.date, channel_key: str, size: int, days: int = EVERY_DAY) -> int:
    """The number of the maxim of the day for `channel_key` on `day` (1..size).

    `days` is the channel's weekday mask; on a day without a post, the next post's maxim.
    """
    cycle, index = divmod(posting_index(day, days), size)
    return cycle_order(cycle, channel_key, size)[index]
