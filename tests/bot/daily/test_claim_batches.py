"""Claims taken in batches: replicas get disjoint ones, and a stop strands none.

Storage is real SQLite and PostgreSQL. Each guarantee was seen to fail against a deliberately
broken version (named in its test) and to pass here.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bot.daily.claims import MAX_BATCH, Batches
from bot.storage import PostRecord, Storage, WantedPost
from bot.storage.tables import subscriptions
from tests.bot.daily.test_delivery import NINE, subscribe, until
from tests.bot.daily.test_scheduler import berlin, make_scheduler
from tests.fakes.recording_poster import RecordingPoster
from tests.helpers import Clock

DAY = dt.date(2026, 11, 28)


@pytest.fixture
async def storage(db_url):
    store = await Storage.open(db_url)
    yield store
    await store.close()


def record_batches(scheduler) -> list[tuple[int, list[PostRecord]]]:
    """Each claim statement's batch: how many it asked for, what it took (our own port)."""
    taken: list[tuple[int, list[PostRecord]]] = []
    take = scheduler.claims._take

    async def recording(batch):
        records = await take(batch)
        taken.append((len(batch), records))
        return records

    scheduler.claims._take = recording
    return taken


async def test_two_schedulers_claim_disjoint_batches_and_post_each_channel_once(storage, db_url):
    """(Broken on purpose: a reclaim without `_claimable`'s conditions took the other's claims
    and posted twice; a batcher sending each claim alone made as many statements as posts.)"""
    channels = await subscribe(storage, 120)
    other = await Storage.open(db_url)
    try:
        poster = RecordingPoster(delay=0.002)
        clock = Clock(berlin(2026, 11, 28, 9, 0))
        first = make_scheduler(storage, poster, clock, max_concurrent_posts=8)
        second = make_scheduler(other, poster, clock, max_concurrent_posts=8)
        batches = {first.owner: record_batches(first), second.owner: record_batches(second)}
        await asyncio.gather(first.run_slot(*NINE), second.run_slot(*NINE))
    finally:
        await other.close()
    assert Counter(poster.channels()) == Counter(channels)  # each channel exactly once
    claimed = {
        owner: [r.channel for _, got in taken for r in got] for owner, taken in batches.items()
    }
    mine, theirs = claimed.values()
    assert set(mine).isdisjoint(theirs)
    assert sorted(mine + theirs) == sorted(channels)  # every post claimed once, by one of them
    for taken in batches.values():
        asked = [n for n, _ in taken]
        assert len(asked) < sum(asked)  # fewer statements than posts asked for
        assert max(asked) > 1


@pytest.mark.postgres
async def test_a_batch_skips_the_posts_another_replica_is_claiming(postgres_url):
    """A replica holding rows mid-claim is passed by, not waited for.

    (Broken on purpose: without ``SKIP LOCKED`` the claim waited for the other transaction
    and the hang guard below failed the test.)
    """
    storage = await Storage.open(postgres_url)
    engine = create_async_engine(postgres_url)
    try:
        channels = await subscribe(storage, 6)
        wanted = [WantedPost("console", c, DAY, 1) for c in channels]
        async with engine.connect() as conn:
            claiming = await conn.begin()  # another replica, in the middle of its batch
            await conn.execute(
                sa.select(subscriptions.c.channel)
                .where(subscriptions.c.channel.in_(channels[:3]))
                .with_for_update()
            )
            async with asyncio.timeout(20):  # a hang guard, not a timing assertion
                records = await storage.claim_posts(
                    wanted, owner="me", now=berlin(2026, 11, 28, 9, 0), lease=dt.timedelta(60)
                )
            await claiming.rollback()
        assert sorted(r.channel for r in records) == channels[3:]
        again = await storage.claim_posts(
            wanted, owner="me", now=berlin(2026, 11, 28, 9, 0), lease=dt.timedelta(60)
        )
        assert sorted(r.channel for r in again) == channels[:3]  # free again, and still due
    finally:
        await engine.dispose()
        await storage.close()


async def test_a_batch_cut_off_by_a_stop_gives_back_its_claims(storage):
    """The claims are in the database, the answer is late, the stop's grace runs out.

    (Broken on purpose: without the give-back in `ClaimBatcher.claim` the four stayed
    "claimed" by a stopped process, and the restart took them over as possibly sent.)
    """
    channels = await subscribe(storage, 6)
    clock = Clock(berlin(2026, 11, 28, 9, 1))
    poster = RecordingPoster()
    first = make_scheduler(storage, poster, clock, max_concurrent_posts=4, stop_grace_seconds=0.1)
    in_database = asyncio.Event()
    answer = asyncio.Event()
    take = first.claims._take

    async def late_answer(batch):
        records = await take(batch)  # the claims are taken...
        in_database.set()
        await answer.wait()  # ...and the database's answer is on its way back
        return records

    first.claims._take = late_answer
    await first.start()  # the catch-up sweep starts the fan-out
    await until(in_database.is_set)
    stopping = asyncio.ensure_future(first.stop())
    await until(lambda: first.background.pending == 0 or all_cancelling(first))
    answer.set()
    await asyncio.wait_for(stopping, 30)

    assert poster.sent == []
    records = await storage.list_posts("console")
    assert [(r.state, r.attempts) for r in records] == [("failed", 0)] * 4  # given back, unsent

    second = make_scheduler(storage, poster, clock)  # the restart posts them as new
    await second.sweep()
    assert Counter(poster.channels()) == Counter(channels)
    assert poster.asked.count(("find_post", "c00", "")) == 0  # nothing to look for
    assert all(r.attempts == 1 for r in await storage.list_posts("console"))


def all_cancelling(scheduler) -> bool:
    """Whether the stop has cancelled every task it waited for (its grace ran out)."""
    tasks = list(scheduler.background._tasks)
    return bool(tasks) and all(t.cancelling() for t in tasks)


async def test_a_batch_completion_records_only_the_claims_still_held(storage):
    """(Broken on purpose: without the owner condition the stranger's claim was completed.)"""
    channels = await subscribe(storage, 3)
    now = berlin(2026, 11, 28, 9, 0)
    lease = dt.timedelta(minutes=5)
    wanted = [WantedPost("console", c, DAY, 1) for c in channels]
    await storage.claim_posts(wanted[:2], owner="me", now=now, lease=lease)
    await storage.claim_posts(wanted[2:], owner="stranger", now=now, lease=lease)
    done = await storage.complete_posts(
        [("console", c, DAY, f"m-{c}") for c in channels], owner="me", now=now
    )
    assert done == {("console", c, DAY) for c in channels[:2]}
    records = {r.channel: r for r in await storage.list_posts("console")}
    assert [(records[c].state, records[c].message_id) for c in channels] == [
        ("posted", "m-c00"),
        ("posted", "m-c01"),
        ("claimed", None),
    ]


async def test_live_replicas_each_start_on_a_part_of_their_own(storage, db_url):
    """(Broken on purpose: with every replica's rank 0 both started on the same posts.)"""
    channels = await subscribe(storage, 60)
    other = await Storage.open(db_url)
    try:
        clock = Clock(berlin(2026, 11, 28, 9, 0))
        first = make_scheduler(storage, RecordingPoster(), clock)
        second = make_scheduler(other, RecordingPoster(), clock)
        for scheduler in (first, second):
            await scheduler.heartbeat()
        work = [(s, DAY) for s in await storage.slot_subscriptions(*NINE)]
        orders = [[s.channel for s, _ in await r._spread(work)] for r in (first, second)]
    finally:
        await other.close()
    assert all(sorted(order) == channels for order in orders)
    (mine, theirs) = (order[: len(order) // 2] for order in orders)
    assert len(set(mine) & set(theirs)) <= len(channels) // 4  # parts by hash, about even


async def test_a_recording_waits_for_the_posts_on_their_way_and_only_then():
    """While posts are on their way a recording lingers for them; alone it goes at once."""
    sent: list[list[str]] = []

    async def send(batch: list[str]) -> list[bool]:
        sent.append(batch)
        return [True] * len(batch)

    busy = True
    batches = Batches(send, linger=lambda: 0.5 if busy else 0.0)
    first = asyncio.ensure_future(batches.submit("a"))
    await asyncio.sleep(0.02)  # a post that answers a moment later joins the recording
    await asyncio.gather(first, batches.submit("b"))
    assert sent == [["a", "b"]]

    busy = False
    first = asyncio.ensure_future(batches.submit("c"))
    await until(lambda: len(sent) == 2)  # the lone recording, sent at once
    await asyncio.gather(first, batches.submit("d"))
    assert sent == [["a", "b"], ["c"], ["d"]]


async def test_a_batch_holds_at_most_max_batch_items():
    sent: list[int] = []

    async def send(batch: list[int]) -> list[int]:
        sent.append(len(batch))
        return batch

    batches: Batches[int, int] = Batches(send)
    assert await asyncio.gather(*(batches.submit(n) for n in range(MAX_BATCH + 3))) == list(
        range(MAX_BATCH + 3)
    )
    assert sent == [MAX_BATCH, 3]
