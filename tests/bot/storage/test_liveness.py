"""Claims and the heartbeats of their owners; giving claims back; pruning; the sweep's index.

Every test runs on SQLite and on a real PostgreSQL (the `db_url` fixture), except the query
plan, which is SQLite's to show.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from bot.storage import Storage
from bot.storage.processes import STOPPED
from tests.bot.storage.test_storage import DAY, LEASE, T0, claimed, sub
from tests.helpers import age_beat

BEAT = dt.timedelta(seconds=5)
DEAD_AFTER = 3 * BEAT


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    s = await Storage.open(db_url)
    yield s
    await s.close()


async def claim(s: Storage, owner: str, now: dt.datetime, *, channel: str = "C1"):
    return await s.claim_post(
        "slack", channel, DAY, 7, owner=owner, now=now, lease=LEASE, dead_after=DEAD_AFTER
    )


async def test_a_dead_owners_claim_is_taken_over_long_before_its_lease_ends(storage: Storage):
    await storage.beat("crashed")
    assert await claim(storage, "crashed", T0) == claimed("crashed")
    await storage.beat("survivor")
    # Silent for two beats: only a hiccup, so nobody takes it.
    await age_beat(storage, "crashed", seconds=2 * BEAT.total_seconds())
    assert await claim(storage, "survivor", T0 + DEAD_AFTER) is None
    assert await storage.dead_owners(dead_after=DEAD_AFTER) == set()
    await age_beat(storage, "crashed", seconds=BEAT.total_seconds())  # the third beat missed
    took = await claim(storage, "survivor", T0 + DEAD_AFTER)
    assert took is not None
    assert (took.owner, took.attempts) == ("survivor", 2)
    assert took.claimed_at == T0 + DEAD_AFTER  # 15 s after the last beat, not after 5 minutes
    assert await storage.dead_owners(dead_after=DEAD_AFTER) == {"crashed"}


async def test_a_claimant_whose_clock_runs_15_s_ahead_leaves_a_live_peers_claim(
    storage: Storage,
):
    """Liveness is judged by the database's clock, not by the claimant's (2.6)."""
    now = dt.datetime.now(dt.UTC)
    await storage.beat("peer")
    assert await claim(storage, "peer", now) is not None
    await age_beat(storage, "peer", seconds=2)  # it beats every 5 s: the last beat was 2 s ago
    ahead = now + DEAD_AFTER  # a replica whose clock runs three beats ahead
    await storage.beat("ahead")
    assert await storage.dead_owners(dead_after=DEAD_AFTER) == set()
    assert await claim(storage, "ahead", ahead) is None
    record = await storage.get_post("slack", "C1", DAY)
    assert record is not None
    assert (record.owner, record.attempts) == ("peer", 1)


async def test_a_beating_owners_claim_is_never_taken_however_slow_its_post(storage: Storage):
    await storage.beat("slow")
    assert await claim(storage, "slow", T0) is not None
    now = T0
    for _ in range(200):  # 1000 s of claimants' time: three times the lease
        now += BEAT
        await storage.beat("slow")
        assert await claim(storage, "other", now) is None
    record = await storage.get_post("slack", "C1", DAY)
    assert record is not None
    assert (record.owner, record.state) == ("slow", "claimed")


async def test_an_owner_that_never_beat_keeps_its_claim_for_the_lease(storage: Storage):
    """The last resort (an older bot version, a process whose heartbeat never got through)."""
    assert await claim(storage, "silent", T0) is not None
    assert await claim(storage, "other", T0 + LEASE - dt.timedelta(seconds=1)) is None
    took = await claim(storage, "other", T0 + LEASE)
    assert took is not None
    assert took.owner == "other"


async def test_a_stopped_owners_claims_are_free_at_once(storage: Storage):
    await storage.beat("old")
    assert await claim(storage, "old", T0) is not None
    await storage.mark_stopped("old")
    took = await claim(storage, "new", T0 + dt.timedelta(seconds=1))
    assert took is not None
    assert took.owner == "new"
    assert await storage.dead_owners(dead_after=DEAD_AFTER) == {"old"}


@pytest.mark.parametrize(("attempted", "attempts"), [(False, 1), (True, 2)])
async def test_a_released_claim_is_claimable_at_once(storage: Storage, attempted, attempts):
    """Given back unsent, it does not count as an attempt; cut off in flight, it does."""
    await storage.beat("stopping")
    assert await claim(storage, "stopping", T0) is not None
    later = T0 + dt.timedelta(seconds=2)
    released = await storage.release_post(
        "slack", "C1", DAY, owner="stopping", now=later, attempted=attempted
    )
    assert released
    assert not await storage.release_post(
        "slack", "C1", DAY, owner="stopping", now=later, attempted=attempted
    )  # only the owner of a live claim gives it back
    await storage.beat("stopping")  # alive, yet its released post is free
    took = await claim(storage, "restarted", later)
    assert took is not None
    assert (took.owner, took.state, took.attempts) == ("restarted", "claimed", attempts)


async def test_prune_keeps_recent_posts_and_live_cooldowns(storage: Storage):
    now = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    for days in (0, 1, 399, 400, 401, 800):
        day = now.date() - dt.timedelta(days=days)
        await storage.claim_post("slack", "C1", day, 1, owner="o", now=now, lease=LEASE)
    await storage.take_cooldown("slack", "C1", "nan", now=now - dt.timedelta(hours=2), seconds=0)
    await storage.take_cooldown("slack", "C2", "nan", now=now - dt.timedelta(days=2), seconds=0)
    await storage.first_delivery("slack", "E-new", now=now - dt.timedelta(minutes=5))
    await storage.first_delivery("slack", "E-old", now=now - dt.timedelta(days=3))
    await storage.beat("long-gone")
    await age_beat(storage, "long-gone", days=3)
    await storage.beat("alive")

    removed = await storage.prune(now=now, keep_days=400, cooldowns_older_than=dt.timedelta(days=1))

    assert removed == {
        "daily_posts": 2,
        "cooldowns": 1,
        "delivered_events": 1,
        "processes": 1,
        "stats_counts": 0,
    }
    kept = sorted((now.date() - p.local_date).days for p in await storage.list_posts())
    assert kept == [0, 1, 399, 400]
    # the pruned cooldown answers again; the one still in the table remembers its answer
    assert await storage.take_cooldown("slack", "C2", "nan", now=now, seconds=3 * 86400)
    assert not await storage.take_cooldown("slack", "C1", "nan", now=now, seconds=3 * 86400)
    assert await storage.first_delivery("slack", "E-old", now=now)  # forgotten
    assert not await storage.first_delivery("slack", "E-new", now=now)  # still remembered
    assert await storage.dead_owners(dead_after=DEAD_AFTER) == set()


async def test_a_discord_dm_holds_one_subscription(storage: Storage):
    """A DM is one channel id per user, and (platform, channel) is the key: setting it twice
    replaces the first setting instead of adding a second daily post."""
    dm = sub("D-dm-of-U1", platform="discord", workspace="")
    await storage.save_subscription(dm)
    await storage.save_subscription(dataclasses.replace(dm, time=dt.time(7, 0)))
    await storage.save_subscription(dataclasses.replace(dm, timezone="Asia/Tokyo"))
    assert await storage.list_subscriptions("discord") == [
        dataclasses.replace(dm, timezone="Asia/Tokyo")
    ]


async def test_the_sweeps_read_uses_the_local_date_index(sqlite_url: str):
    """The sweep reads posts from yesterday on, every minute: it must not scan the history."""
    s = await Storage.open(sqlite_url)
    try:
        async with s._engine.connect() as conn:
            plan = await conn.execute(
                sa.text(
                    "EXPLAIN QUERY PLAN SELECT * FROM daily_posts WHERE local_date >= :d "
                    "ORDER BY local_date, platform, channel"
                ),
                {"d": DAY.isoformat()},  # as the table stores it (no deprecated date adapter)
            )
            details = " ".join(str(row[-1]) for row in plan)
    finally:
        await s.close()
    assert "ix_daily_posts_local_date" in details, details


def test_stopped_is_older_than_any_deadline():
    assert dt.datetime(2000, 1, 1, tzinfo=dt.UTC) - DEAD_AFTER > STOPPED
