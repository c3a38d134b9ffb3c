"""Stats: counters per (platform, workspace, day, kind, maxim), and reading them back.

Counts, not people: no user, channel or text is stored. Each counter is added to by one
statement (``INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n``), so replicas counting at
once lose no update; there is no read-modify-write in Python. Old days go with the daily pruning
(`bot.storage.processes`), after ``storage.keep_days``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

import sqlalchemy as sa

from bot.storage.base import StorageBase
from bot.storage.records import STAT_KINDS, StatsSummary
from bot.storage.tables import insert_into, stats_counts

RECENT_DAYS = 30
TOP = 5
CountKey = tuple[str, str, datetime.date, str, int]
"""(platform, workspace, day, kind, maxim): one counter."""


class StatsQueries(StorageBase):
    """Counting and summing the stats of a workspace."""

    async def count(
        self, platform: str, workspace: str, day: datetime.date, kind: str, maxim: int
    ) -> None:
        """Add one to (platform, workspace, day, kind, maxim), atomically across processes."""
        await self.count_many({(platform, workspace, day, kind, maxim): 1})

    async def count_many(self, counts: Mapping[CountKey, int]) -> None:
        """Add each `n` to its counter: one upsert per counter, all in one transaction.

        ``n = n + excluded.n`` is computed by the database, so processes adding to the same
        counters at once lose nothing. Counters go in key order, so two transactions lock
        shared rows in the same order and cannot deadlock each other on PostgreSQL.
        """
        for key in counts:
            if key[3] not in STAT_KINDS:
                raise ValueError(f"unknown stats kind {key[3]!r}")
        if not counts:
            return
        c = stats_counts.c
        stmt = insert_into(self._dialect, stats_counts)
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.platform, c.workspace, c.day, c.kind, c.maxim],
            set_={"n": c.n + stmt.excluded.n},
        )
        rows = [
            {"platform": p, "workspace": w, "day": d, "kind": k, "maxim": m, "n": n}
            for (p, w, d, k, m), n in sorted(counts.items())
        ]
        async with self._engine.begin() as conn:
            for row in rows:  # one statement each: executemany may fold them into one VALUES
                await conn.execute(stmt.values(row))

    async def stats(
        self, platform: str, workspace: str, *, today: datetime.date, days: int = RECENT_DAYS
    ) -> StatsSummary:
        """The workspace's counts over the last `days` days (to `today`) and all time."""
        c = stats_counts.c
        mine = sa.and_(c.platform == platform, c.workspace == workspace)
        since = today - datetime.timedelta(days=days - 1)
        recent_n = sa.func.sum(sa.case((c.day >= since, c.n), else_=0))
        by_kind = sa.select(c.kind, recent_n, sa.func.sum(c.n)).where(mine).group_by(c.kind)
        asked = sa.func.sum(c.n).label("asked")
        top = (
            sa.select(c.maxim, asked)
            .where(mine, c.kind == "asked")
            .group_by(c.maxim)
            .order_by(asked.desc(), c.maxim)
            .limit(TOP)
        )
        async with self._reading() as conn:
            rows = (await conn.execute(by_kind)).all()
            best = (await conn.execute(top)).all()
        recent = dict.fromkeys(STAT_KINDS, 0)
        total = dict.fromkeys(STAT_KINDS, 0)
        for kind, in_window, overall in rows:
            recent[kind] = int(in_window or 0)
            total[kind] = int(overall or 0)
        return StatsSummary(
            recent=recent,
            total=total,
            top=tuple((int(m), int(n)) for m, n in best),
            days=days,
        )
