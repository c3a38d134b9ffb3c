"""Migration 0010: ``subscriptions.due_at`` and its index, on SQLite and PostgreSQL.

Rows from before it keep everything and start with no ``due_at``; the first sweep computes
it, after which a quiet minute reads none of them.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.storage import Storage, migrate
from bot.storage.tables import UTCDateTime
from maxims import load_corpus
from tests.fakes.recording_poster import RecordingPoster
from tests.helpers import subscription

T0 = dt.datetime(2024, 3, 1, 7, 0, tzinfo=dt.UTC)


async def test_rows_from_0009_are_computed_by_the_first_sweep(db_url: str) -> None:
    await migrate(db_url, "0009")
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            for channel, at in (("C1", dt.time(9)), ("C2", dt.time(7, 30))):
                await conn.execute(
                    sa.text(
                        "INSERT INTO subscriptions (platform, channel, workspace, post_time,"
                        " timezone, set_by, set_at) VALUES"
                        " ('console', :channel, '', :time, 'UTC', 'U1', :set_at)"
                    ).bindparams(
                        sa.bindparam("time", type_=sa.Time()),
                        sa.bindparam("set_at", type_=UTCDateTime()),
                    ),
                    {"channel": channel, "time": at, "set_at": T0},
                )
    finally:
        await engine.dispose()

    async with await Storage.open(db_url) as storage:
        assert await storage.get_subscription("console", "C1") == subscription(
            "C1", platform="console", workspace="", set_at=T0
        )
        fresh = await storage.due_subscriptions(now=None, platforms=["console"])
        assert sorted(d.sub.channel for d in fresh) == ["C1", "C2"]
        assert {d.due_at for d in fresh} == {None}
        poster = RecordingPoster()
        now = dt.datetime(2024, 3, 1, 7, 40, tzinfo=dt.UTC)
        scheduler = DailyScheduler(
            storage=storage,
            posters={"console": poster},
            corpus=load_corpus(),
            config=ScheduleConfig(),
            clock=lambda: now,
        )
        await scheduler.sweep()
        assert poster.channels() == ["C2"]  # due since 07:30: caught up at once
        assert await storage.due_subscriptions(now=None, platforms=["console"]) == []
        await scheduler.sweep()  # the next sweep sees C2 posted: on to tomorrow
        assert await storage.due_subscriptions(now=now, platforms=["console"]) == []


async def test_the_sweeps_index_is_there(db_url: str) -> None:
    async with await Storage.open(db_url) as storage:

        def indexes(conn: sa.Connection) -> dict[str, list[str | None]]:
            found = sa.inspect(conn).get_indexes("subscriptions")
            return {index["name"]: index["column_names"] for index in found if index["name"]}

        async with storage.engine.connect() as conn:
            found = await conn.run_sync(indexes)
    assert found["ix_subscriptions_due_at"] == ["due_at"]
    assert found["ix_subscriptions_slot"] == ["post_time", "timezone"]
