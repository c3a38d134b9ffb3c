"""The sweep reads only what is due: ``due_at``, its rules, and changes made elsewhere.

Storage is real SQLite and PostgreSQL; time is the hand-moved `Clock`. Each guarantee was
seen to fail against a deliberately broken version (named in its test) and to pass here.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from bot.daily.time_rules import due_day, next_due
from bot.storage import Storage
from tests.bot.daily.test_scheduler import berlin, make_scheduler, sub
from tests.fakes.recording_poster import RecordingPoster
from tests.helpers import Clock

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
GRACE = dt.timedelta(minutes=60)
EVERY_DAY = 0b1111111
WEEKDAYS = 0b0011111


@pytest.fixture
async def storage(db_url):
    store = await Storage.open(db_url)
    yield store
    await store.close()


async def due_channels(storage: Storage, now: dt.datetime) -> list[str]:
    """What the sweep reads at `now`: rows not computed yet, and rows whose due_at has come."""
    read = [
        *await storage.due_subscriptions(now=None, platforms=["console"]),
        *await storage.due_subscriptions(now=now, platforms=["console"]),
    ]
    return sorted(d.sub.channel for d in read)


# -- the rule: next_due agrees with due_day ---------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "at", "days", "start", "hours"),
    [
        ("Europe/Berlin", dt.time(9), EVERY_DAY, dt.datetime(2026, 11, 26, tzinfo=UTC), 100),
        ("Europe/Berlin", dt.time(2, 30), EVERY_DAY, dt.datetime(2026, 3, 27, tzinfo=UTC), 72),
        ("Europe/Berlin", dt.time(2, 30), EVERY_DAY, dt.datetime(2026, 10, 24, tzinfo=UTC), 72),
        ("America/New_York", dt.time(23, 30), WEEKDAYS, dt.datetime(2026, 12, 3, tzinfo=UTC), 120),
        ("Pacific/Auckland", dt.time(0, 15), WEEKDAYS, dt.datetime(2026, 12, 3, tzinfo=UTC), 120),
    ],
)
def test_a_post_is_due_exactly_from_its_due_at_on(zone, at, days, start, hours):
    """Minute by minute: due now means next_due(now) has come, and next_due never skips one.

    (Broken on purpose: ``next_due`` ignoring the end of the local day answered 23:30's post
    as due after midnight, which `due_day` refuses.)
    """
    tz = ZoneInfo(zone)
    for minute in range(0, hours * 60, 7):
        now = start + dt.timedelta(minutes=minute)
        due_at = next_due(now, at, tz, days, GRACE)
        is_due = due_day(now, at, tz, days, GRACE) is not None
        assert (due_at <= now) == is_due, (now, due_at)
        if not is_due:  # nothing is due before due_at comes
            assert due_day(due_at, at, tz, days, GRACE) is not None, (now, due_at)


def test_a_done_day_moves_due_at_to_the_next_chosen_day():
    friday_nine = dt.datetime(2026, 12, 4, 9, 5, tzinfo=BERLIN)
    after = next_due(friday_nine, dt.time(9), BERLIN, WEEKDAYS, GRACE, past=dt.date(2026, 12, 4))
    assert after == dt.datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN)  # Monday, not Saturday


# -- the sweep's query -------------------------------------------------------------------------


async def test_the_sweep_reads_only_the_subscriptions_due_now(storage):
    """(Broken on purpose: a sweep that never stored ``due_at`` read all 40 every minute.)"""
    for i in range(40):
        await storage.save_subscription(sub(f"c{i:02d}", at=f"{8 + i % 4:02d}:00"))
    await storage.save_subscription(replace(sub("down", at="09:00"), failing="channel_not_found"))
    clock = Clock(berlin(2026, 11, 28, 7, 0))
    poster = RecordingPoster()
    scheduler = make_scheduler(storage, poster, clock, catch_up_minutes=30)
    assert len(await due_channels(storage, clock.now)) == 40  # new: not computed yet
    await scheduler.sweep()  # computes every due_at once
    assert await due_channels(storage, clock.now) == []  # a quiet minute reads nothing

    clock.now = berlin(2026, 11, 28, 9, 0)
    nine = sorted(f"c{i:02d}" for i in range(40) if i % 4 == 1)
    assert await due_channels(storage, clock.now) == sorted(
        f"c{i:02d}"
        for i in range(40)
        if i % 4 in (0, 1)  # 08:00's window has not passed yet
    )
    await scheduler.sweep()
    assert sorted(poster.channels()) == nine  # 08:00's window closed at 08:30: none of those
    clock.advance(minutes=1)
    await scheduler.sweep()  # sees them posted (and 08:00's passed): they move on to tomorrow
    assert await due_channels(storage, clock.now) == []
    clock.now = berlin(2026, 11, 28, 10, 0)
    assert await due_channels(storage, clock.now) == sorted(
        f"c{i:02d}" for i in range(40) if i % 4 == 2
    )


async def test_a_failed_post_stays_due_until_its_retry_succeeds(storage):
    await storage.save_subscription(sub("flaky"))
    poster = RecordingPoster(failing={"flaky": 1})
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    scheduler = make_scheduler(storage, poster, clock)
    await scheduler.sweep()
    clock.advance(seconds=10)
    await scheduler.sweep()  # failed, retry not yet due: the row stays due
    assert await due_channels(storage, clock.now) == ["flaky"]
    clock.advance(seconds=30)
    await scheduler.sweep()
    assert poster.channels() == ["flaky"]
    clock.advance(seconds=30)
    await scheduler.sweep()
    assert await due_channels(storage, clock.now) == []


async def test_a_change_while_the_sweep_computes_is_never_overwritten(storage):
    """(Broken on purpose: `set_due_at` without its compare-and-set hid the new time.)"""
    await storage.save_subscription(sub("general", at="09:00"))
    now = berlin(2026, 11, 28, 7, 0)
    read = await storage.due_subscriptions(now=None, platforms=["console"])
    await storage.save_subscription(sub("general", at="07:30"))  # meanwhile, in chat
    stale = next_due(now, dt.time(9), BERLIN, EVERY_DAY, GRACE)
    await storage.set_due_at([(read[0], stale)])
    assert await due_channels(storage, now) == ["general"]  # still to be computed afresh


async def test_another_processes_new_slot_gets_its_job_at_the_next_sweep(storage, db_url):
    """(Broken on purpose: a sweep that ignored the change token never added the job.)"""
    clock = Clock(berlin(2026, 11, 28, 7, 0))
    scheduler = make_scheduler(storage, RecordingPoster(), clock)
    await scheduler.reload()
    assert scheduler._slots == set()
    other = await Storage.open(db_url)
    try:
        await other.save_subscription(sub("general", at="07:30", zone="Asia/Tokyo"))
    finally:
        await other.close()
    await scheduler.sweep()
    assert scheduler._slots == {(dt.time(7, 30), "Asia/Tokyo")}


async def test_the_jobs_are_built_without_reading_each_subscription(storage):
    for i in range(30):
        await storage.save_subscription(sub(f"c{i}", at="09:00" if i % 3 else "10:00"))
    await storage.save_subscription(sub("elsewhere", platform="discord"))
    slots = await storage.subscription_slots()
    assert Counter({(s.platform, s.time): s.count for s in slots}) == Counter(
        {("console", dt.time(9)): 20, ("console", dt.time(10)): 10, ("discord", dt.time(9)): 1}
    )


async def test_one_sweep_computes_every_missing_due_at_a_chunk_at_a_time(storage, monkeypatch):
    """After the upgrade to 0009 every row lacks due_at: read in chunks, never all at once.

    (Broken on purpose: a sweep that stopped after its first chunk left rows uncomputed.)
    """
    monkeypatch.setattr("bot.daily.scheduler.COMPUTE_CHUNK", 5)
    for i in range(12):
        await storage.save_subscription(sub(f"c{i:02d}", at="18:00"))
    clock = Clock(berlin(2026, 11, 28, 7, 0))
    await make_scheduler(storage, RecordingPoster(), clock).sweep()
    assert await due_channels(storage, clock.now) == []
