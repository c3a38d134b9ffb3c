"""Stats: counters per (platform, workspace, day, kind, maxim), and reading them back.

Counts, not people: no user, channel or text is stored. Each count is one statement
(``INSERT ... ON CONFLICT DO UPDATE SET n = n + 1``), so replicas counting at once lose no
update; there is no read-modify-write in Python. Old days go with the daily pruning
(`bot.storage.processes`), after ``storage.keep_days``.
"""

from __future__ import annotations

import datetime

import sqlalchemy as sa

from bot.storage.base import StorageBase
from bot.storage.records import STAT_KINDS, StatsSummary
from bot.storage.tables import insert_into, stats_counts

RECENT_DAYS = 30
TOP = 5


class StatsQueries(StorageBase):
    """Counting and summing the stats of a workspace."""

    async def count(
        self, platform: str, workspace: str, day: datetime.date, kind: str, maxim: int
    ) -> None:
        """Add one to (platform, workspace, day, kind, maxim), atomically across processes."""
        if kind not in STAT_KINDS:
            raise ValueError(f"unknown stats kind {kind!r}")
        c = stats_counts.c
        stmt = insert_into(self._dialect, stats_counts).values(
            platform=platform, workspace=workspace, day=day, kind=kind, maxim=maxim, n=1
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[c.platform, c.workspace, c.day, c.kind, c.maxim],
            set_={"n": c.n + 1},
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

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
