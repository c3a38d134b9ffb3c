"""Process heartbeats, and pruning what would otherwise grow forever.

A claim names its owner; each process renews its ``processes`` row every few seconds, so a
claim whose owner stopped beating can be taken over within seconds instead of waiting out the
whole lease (`bot.storage.posts`). A process that stops cleanly marks itself stopped at once.

Beats are written and judged by the database's clock (`database_now`), never a process's:
a replica whose clock ran 15 s ahead would otherwise find every live peer three beats late
and take over its claims.

Pruning runs about once a day from the scheduler: old daily-post records, expired cooldowns,
remembered event ids and the rows of processes long gone. Every statement is idempotent, so
several processes pruning at once is harmless.
"""

from __future__ import annotations

import datetime
import logging
from typing import Final

import sqlalchemy as sa

from bot.storage.base import StorageBase
from bot.storage.tables import (
    as_utc,
    cooldowns,
    daily_posts,
    database_now,
    delivered_events,
    insert_into,
    processes,
    stats_counts,
)

log = logging.getLogger(__name__)

STOPPED: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
"""The beat of a process that stopped cleanly: older than any deadline, so it counts as dead."""
EVENT_RETENTION: Final = datetime.timedelta(days=1)
"""How long `first_delivery` remembers an event id (Slack retries within minutes)."""
PROCESS_RETENTION: Final = datetime.timedelta(days=2)
"""How long a silent process's row is kept; far beyond any lease, so no claim still needs it."""


class ProcessQueries(StorageBase):
    """Heartbeats of the bot processes and the daily clean-up."""

    async def beat(self, owner: str) -> None:
        """Record that `owner` is alive now, by the database's clock (a row on the first beat)."""
        now = database_now(self._dialect)
        stmt = insert_into(self._dialect, processes).values(
            owner=owner, started_at=now, beat_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[processes.c.owner], set_={"beat_at": stmt.excluded.beat_at}
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def mark_stopped(self, owner: str) -> None:
        """Say that `owner` stopped: any claim it still holds may be taken over at once."""
        stmt = sa.update(processes).where(processes.c.owner == owner).values(beat_at=STOPPED)
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def dead_owners(self, *, dead_after: datetime.timedelta) -> set[str]:
        """The processes whose last beat is older than `dead_after` (or that stopped).

        Old by the database's clock, the one the beats were written with.
        """
        deadline = database_now(self._dialect, -dead_after)
        stmt = sa.select(processes.c.owner).where(processes.c.beat_at <= deadline)
        async with self._reading() as conn:
            return set((await conn.scalars(stmt)).all())

    async def live_owners(self, *, dead_after: datetime.timedelta) -> set[str]:
        """The processes that beat within `dead_after` (by the database's clock): the replicas."""
        deadline = database_now(self._dialect, -dead_after)
        stmt = sa.select(processes.c.owner).where(processes.c.beat_at > deadline)
        async with self._reading() as conn:
            return set((await conn.scalars(stmt)).all())

    async def prune(
        self,
        *,
        now: datetime.datetime,
        keep_days: int,
        cooldowns_older_than: datetime.timedelta,
        events_older_than: datetime.timedelta = EVENT_RETENTION,
    ) -> dict[str, int]:
        """Delete what nothing reads any more; how many rows went, by table.

        Post records and stats counts older than `keep_days` days (``/maxim daily`` and the
        sweep read only today and yesterday), cooldowns that ended, event ids past the
        re-delivery window, and rows of processes silent for `PROCESS_RETENTION` (by the
        database's clock, as their beats).
        """
        now = as_utc(now)
        oldest_day = now.date() - datetime.timedelta(days=keep_days)
        statements = {
            "daily_posts": sa.delete(daily_posts).where(daily_posts.c.local_date < oldest_day),
            "cooldowns": sa.delete(cooldowns).where(
                cooldowns.c.last_at < now - cooldowns_older_than
            ),
            "delivered_events": sa.delete(delivered_events).where(
                delivered_events.c.received_at < now - events_older_than
            ),
            "stats_counts": sa.delete(stats_counts).where(stats_counts.c.day < oldest_day),
            "processes": sa.delete(processes).where(
                processes.c.beat_at < database_now(self._dialect, -PROCESS_RETENTION)
            ),
        }
        removed: dict[str, int] = {}
        async with self._engine.begin() as conn:
            for table, stmt in statements.items():
                removed[table] = (await conn.execute(stmt)).rowcount
        log.info("storage pruned: %s", ", ".join(f"{n} {t}" for t, n in removed.items()))
        return removed
