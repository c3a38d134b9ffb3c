"""Stats counters on SQLite and a real PostgreSQL: counts add up, across pools, and are pruned."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from bot.storage import Storage
from bot.storage.tables import stats_counts
from tests.helpers import race

UTC = dt.UTC
DAY = dt.date(2024, 3, 31)


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    s = await Storage.open(db_url)
    yield s
    await s.close()


async def test_stats_sum_by_kind_window_and_top(storage: Storage) -> None:
    old = DAY - dt.timedelta(days=30)  # just outside the 30 days that end today
    for day, kind, maxim in [
        (DAY, "asked", 7),
        (DAY, "asked", 7),
        (DAY, "asked", 3),
        (old, "asked", 3),
        (old, "asked", 3),
        (DAY - dt.timedelta(days=29), "shared", 7),
        (DAY, "posted", 1),
        (old, "nan", 9),
    ]:
        await storage.count("slack", "T1", day, kind, maxim)
    await storage.count("slack", "T2", DAY, "asked", 70)  # another workspace
    await storage.count("discord", "T1", DAY, "asked", 70)  # another platform

    got = await storage.stats("slack", "T1", today=DAY)

    assert got.recent == {"asked": 3, "shared": 1, "posted": 1, "nan": 0}
    assert got.total == {"asked": 5, "shared": 1, "posted": 1, "nan": 1}
    assert got.top == ((3, 3), (7, 2))
    assert got.days == 30


async def test_stats_top_is_five_and_ties_go_by_number(storage: Storage) -> None:
    for maxim in (9, 8, 7, 6, 5, 4):
        await storage.count("slack", "T1", DAY, "asked", maxim)
    await storage.count("slack", "T1", DAY, "asked", 8)
    got = await storage.stats("slack", "T1", today=DAY)
    assert got.top == ((8, 2), (4, 1), (5, 1), (6, 1), (7, 1))


async def test_stats_of_an_empty_workspace(storage: Storage) -> None:
    got = await storage.stats("slack", "T1", today=DAY)
    assert got.recent == got.total == {"asked": 0, "shared": 0, "posted": 0, "nan": 0}
    assert got.top == ()


async def test_count_refuses_an_unknown_kind(storage: Storage) -> None:
    with pytest.raises(ValueError, match="kind"):
        await storage.count("slack", "T1", DAY, "user U123", 7)


async def test_counting_from_two_engines_at_once_loses_nothing(
    storage: Storage, db_url: str
) -> None:
    other = await Storage.open(db_url)
    try:
        await race(
            *(
                (storage if i % 2 else other).count("slack", "T1", DAY, "asked", 7)
                for i in range(40)
            )
        )
    finally:
        await other.close()
    got = await storage.stats("slack", "T1", today=DAY)
    assert got.total["asked"] == 40


async def test_prune_drops_counts_older_than_keep_days(storage: Storage) -> None:
    now = dt.datetime(2024, 3, 31, 12, tzinfo=UTC)
    await storage.count("slack", "T1", DAY - dt.timedelta(days=11), "asked", 1)
    await storage.count("slack", "T1", DAY - dt.timedelta(days=10), "asked", 2)
    removed = await storage.prune(now=now, keep_days=10, cooldowns_older_than=dt.timedelta(hours=1))
    assert removed["stats_counts"] == 1
    async with storage.engine.connect() as conn:
        kept = (await conn.execute(sa.select(stats_counts.c.maxim))).scalars().all()
    assert kept == [2]


async def test_a_count_row_holds_no_person_or_message() -> None:
    assert [c.name for c in stats_counts.columns] == [
        "platform",
        "workspace",
        "day",
        "kind",
        "maxim",
        "n",
    ]


async def test_batches_over_the_same_counters_from_two_engines_add_up(
    storage: Storage, db_url: str
) -> None:
    """Key order keeps two transactions over shared rows from deadlocking on PostgreSQL."""
    keys = [("slack", "T1", DAY, "asked", m) for m in range(1, 11)]
    other = await Storage.open(db_url)
    try:
        await race(
            *(
                (storage if i % 2 else other).count_many(
                    dict.fromkeys(keys if i % 2 else keys[::-1], 2)
                )
                for i in range(20)
            )
        )
    finally:
        await other.close()
    got = await storage.stats("slack", "T1", today=DAY)
    assert got.total["asked"] == 20 * 10 * 2
    assert got.top[0] == (1, 40)
