"""Stats: counting what the bot served, beside the answer, and `/maxim stats` as text.

Counts, not people: each count is (platform, workspace or guild, UTC day, kind, maxim), never
a user, a channel or a message (`bot.storage.stats`). Counting never slows or fails an answer:
a count is added in memory, and the counts of the last `FLUSH_SECONDS` go to storage together
as background work (one upsert per counter, one transaction), so a busy bot writes about once a
second rather than once per answer (a write per answer cost a sequential Slack command 1.2x
its p50 in bench/bench_stats.py). A database outage skips those counts with one WARNING line
in the log, never an apology in chat; a crash loses at most the last second's. With
``stats.enabled = false`` nothing is counted and nothing already counted is deleted.

`render_stats` is the one rendering of the summary, in the Markdown both Slack (mrkdwn) and
Discord read the same way; the console prints it as it is.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.background import Background
from bot.storage import describe_outage

if TYPE_CHECKING:
    from bot.storage import StatsSummary, Storage
    from bot.storage.stats import CountKey
    from maxims import Corpus

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]  # as `bot.chat.Clock` (which imports this module's type)

FLUSH_SECONDS = 1.0  # counts gathered in memory this long, then written together
OFF = "Stats are off here: this bot counts nothing (`stats.enabled = false` in its config)."
UNAVAILABLE = "I can’t read the stats right now: the database isn’t answering. Try again soon."
_LABELS = (
    ("asked", "maxims asked for"),
    ("shared", "maxims shared"),
    ("posted", "daily posts"),
    ("nan", "NaNs answered"),
)


class StatsCounter:
    """Counts maxims served per workspace, beside the answers; reads the summary back."""

    def __init__(
        self,
        storage: Storage,
        *,
        enabled: bool,
        clock: Clock,
        flush_seconds: float = FLUSH_SECONDS,
    ) -> None:
        self.storage = storage
        self.enabled = enabled
        self.clock = clock
        self.flush_seconds = flush_seconds
        self.background = Background("stats")
        self._pending: dict[CountKey, int] = {}
        self._flush_due = False

    def count(self, platform: str, workspace: str, kind: str, maxim: int) -> None:
        """Count one `kind` of `maxim` in `workspace`; written within `flush_seconds`."""
        if not self.enabled:
            return
        key = (platform, workspace, self.clock().date(), kind, maxim)
        self._pending[key] = self._pending.get(key, 0) + 1
        if not self._flush_due:
            self._flush_due = True
            self.background.spawn(self._flush_soon(), "counting")

    async def _flush_soon(self) -> None:
        await asyncio.sleep(self.flush_seconds)
        # Taken and reset with no await between: a count from now on schedules the next write.
        counts, self._pending, self._flush_due = self._pending, {}, False
        try:
            await self.storage.count_many(counts)
        except Exception as err:
            outage = describe_outage(err)
            if outage is None:
                raise
            log.warning(
                "%d stats count(s) not saved: the database is unreachable (%s)",
                sum(counts.values()),
                outage,
            )

    async def summary(self, platform: str, workspace: str, corpus: Corpus) -> str:
        """`/maxim stats` for `workspace`, as text (off, or unreadable, said plainly)."""
        if not self.enabled:
            return OFF
        try:
            stats = await self.storage.stats(platform, workspace, today=self.clock().date())
        except Exception as err:
            outage = describe_outage(err)
            if outage is None:
                raise
            log.warning("stats not read: the database is unreachable (%s)", outage)
            return UNAVAILABLE
        return render_stats(stats, corpus)

    async def close(self) -> None:
        """Let counts under way finish (briefly), then drop the rest."""
        await self.background.close()


def render_stats(stats: StatsSummary, corpus: Corpus) -> str:
    """The summary as Markdown: each kind over the recent days and all time, then the top five."""
    lines = [f"*Maxim stats here* (last {stats.days} days · all time)"]
    for kind, label in _LABELS:
        lines.append(f"• {label}: {stats.recent[kind]} · {stats.total[kind]}")
    if stats.top:
        lines.append("*Most asked for*")
        for number, times in stats.top:
            maxim = corpus.get(number)
            title = f" {_short(maxim.text)}" if maxim is not None else ""
            lines.append(f"{number}.{title} ({times}×)")
    else:
        lines.append("No maxim asked for yet.")
    lines.append("_Counts only: no names, no messages._")
    return "\n".join(lines)


def _short(text: str, limit: int = 60) -> str:
    first = text.splitlines()[0] if text else ""
    return first if len(first) <= limit else first[: limit - 1] + "…"
