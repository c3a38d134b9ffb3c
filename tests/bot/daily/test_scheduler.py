"""Daily posts: due times, daylight saving, catch-up, exactly once, retries and rate limits.

Time is injected (a settable clock), never slept on; storage is real SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
import time_machine

from bot.chat import channel_key
from bot.config import ScheduleConfig
from bot.daily.commands import DailySubscriptions
from bot.daily.scheduler import DailyScheduler, DailyTrigger, next_instant, scheduled_instant
from bot.storage import Storage, Subscription
from maxims import load_corpus
from maxims.query import DailySet
from tests.fakes.recording_poster import RecordingPoster

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
async def storage(db_url):
    store = await Storage.open(db_url)
    yield store
    await store.close()


def sub(channel: str, at: str = "09:00", zone: str = "Europe/Berlin", platform: str = "console"):
    return Subscription(
        platform=platform,
        workspace="",
        channel=channel,
        time=dt.time.fromisoformat(at),
        timezone=zone,
        set_by="U1",
        set_at=dt.datetime(2026, 1, 1, tzinfo=UTC),
    )


def make_scheduler(storage, poster, clock, **config):
    return DailyScheduler(
        storage=storage,
        posters={poster.platform: poster},
        corpus=load_corpus(),
        config=ScheduleConfig(**config),
        clock=clock,
    )


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN).astimezone(UTC)


# -- when is a post due ------------------------------------------------------------------------


def test_nine_in_berlin_is_eight_utc_in_winter_and_seven_in_summer():
    assert scheduled_instant(dt.date(2026, 1, 15), dt.time(9), BERLIN) == dt.datetime(
        2026, 1, 15, 8, tzinfo=UTC
    )
    assert scheduled_instant(dt.date(2026, 7, 15), dt.time(9), BERLIN) == dt.datetime(
        2026, 7, 15, 7, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("zone", "day", "expected_local"),
    [
        (BERLIN, dt.date(2026, 3, 29), dt.datetime(2026, 3, 29, 3, 0)),  # 02:30 skipped
        (NEW_YORK, dt.date(2026, 3, 8), dt.datetime(2026, 3, 8, 3, 0)),  # 02:30 skipped
        (BERLIN, dt.date(2026, 10, 25), dt.datetime(2026, 10, 25, 2, 30)),  # 02:30 twice
        (NEW_YORK, dt.date(2026, 11, 1), dt.datetime(2026, 11, 1, 1, 30)),  # 01:30 twice
    ],
)
def test_daylight_saving_days_post_once_at_the_wall_clock_time(zone, day, expected_local):
    at = dt.time(expected_local.hour, 30) if expected_local.minute == 30 else dt.time(2, 30)
    instant = scheduled_instant(day, at, zone)
    local = instant.astimezone(zone)
    assert local.replace(tzinfo=None) == expected_local
    assert local.fold == 0  # the first of two occurrences
    # The trigger fires exactly once on each day of that week.
    trigger = DailyTrigger(at, zone.key)
    fire = trigger.get_next_fire_time(None, scheduled_instant(day, at, zone) - dt.timedelta(days=3))
    fires = []
    while fire < scheduled_instant(day, at, zone) + dt.timedelta(days=3):
        fires.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    days = [f.astimezone(zone).date() for f in fires]
    assert days == [days[0] + dt.timedelta(days=i) for i in range(len(days))]  # once a day
    assert len(days) >= 6
    assert instant in fires


def test_daily_trigger_fires_at_nine_berlin():
    trigger = DailyTrigger(dt.time(9), "Europe/Berlin")
    now = berlin(2026, 11, 28, 8, 59)
    assert trigger.get_next_fire_time(None, now) == berlin(2026, 11, 28, 9, 0)
    fired = berlin(2026, 11, 28, 9, 0)
    assert trigger.get_next_fire_time(fired, fired) == berlin(2026, 11, 29, 9, 0)


def test_next_instant_is_strictly_after_now():
    now = berlin(2026, 11, 28, 9, 0)
    assert next_instant(now, dt.time(9), BERLIN) == berlin(2026, 11, 29, 9, 0)


# -- catch-up on start -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("restart", "posts"),
    [((9, 30), 1), ((10, 59), 1), ((12, 0), 0), ((8, 59), 0)],
)
async def test_catch_up_posts_today_only_within_the_grace_period(storage, restart, posts):
    await storage.save_subscription(sub("general"))
    poster = RecordingPoster()
    clock = Clock(berlin(2026, 11, 28, *restart))
    scheduler = make_scheduler(storage, poster, clock, catch_up_minutes=120)
    await scheduler.sweep()
    await scheduler.sweep()  # a second sweep (or a second restart) never posts again
    assert len(poster.sent) == posts
    if posts:
        expected = load_corpus().for_day(dt.date(2026, 11, 28), channel_key("console", "general"))
        assert poster.sent[0][:2] == ("general", expected.number)
        record = await storage.get_post("console", "general", dt.date(2026, 11, 28))
        assert (record.state, record.maxim_number) == ("posted", expected.number)


async def test_never_yesterdays_post_after_midnight(storage):
    await storage.save_subscription(sub("late", at="23:30"))
    poster = RecordingPoster()
    scheduler = make_scheduler(storage, poster, Clock(berlin(2026, 11, 29, 0, 30)))
    await scheduler.sweep()
    assert poster.sent == []


# -- the job itself, fired by APScheduler ------------------------------------------------------


async def test_apscheduler_fires_the_nine_oclock_job(sqlite_url):
    """APScheduler's own timer fires the job (the clock is moved, not slept on).

    SQLite only: asyncpg's timeouts do not survive time travel, and the job is the point here.
    """
    storage = await Storage.open(sqlite_url)
    await storage.save_subscription(sub("general"))
    await storage.save_subscription(sub("random-chan", at="10:00"))
    poster = RecordingPoster()
    start = berlin(2026, 11, 28, 8, 59, 59, 700000)
    with time_machine.travel(start, tick=True):
        scheduler = make_scheduler(storage, poster, lambda: dt.datetime.now(UTC))
        await scheduler.start()
        try:
            for _ in range(300):
                if poster.sent:
                    break
                await asyncio.sleep(0.01)
        finally:
            await scheduler.stop()
            await storage.close()
    assert poster.channels() == ["general"]


async def test_schedule_changes_take_effect_at_once(storage):
    poster = RecordingPoster()
    clock = Clock(berlin(2026, 11, 28, 12, 0))
    scheduler = make_scheduler(storage, poster, clock)
    await scheduler.start()
    try:
        assert scheduler.scheduler.get_jobs() == [scheduler.scheduler.get_job("sweep")]
        daily = DailySubscriptions(storage, scheduler.reload, clock=clock)
        from bot.chat import Origin

        async def admin():
            return True

        origin = Origin("console", "general", "U1")
        await daily.handle(origin, DailySet(7, 15, "Asia/Tokyo"), admin)
        ids = {job.id for job in scheduler.scheduler.get_jobs()}
        assert ids == {"sweep", "daily 07:15 Asia/Tokyo"}
        job = scheduler.scheduler.get_job("daily 07:15 Asia/Tokyo")
        assert job.trigger.get_next_fire_time(None, clock.now) == dt.datetime(
            2026, 11, 28, 22, 15, tzinfo=UTC
        )
        await daily.handle(origin, DailySet(8, 0, "Asia/Tokyo"), admin)
        ids = {job.id for job in scheduler.scheduler.get_jobs()}
        assert ids == {"sweep", "daily 08:00 Asia/Tokyo"}
    finally:
        await scheduler.stop()


async def test_subscriptions_share_one_job_per_time_and_zone(storage):
    for i in range(30):
        await storage.save_subscription(sub(f"c{i}", at="09:00" if i % 2 else "10:00"))
    poster = RecordingPoster()
    scheduler = make_scheduler(storage, poster, Clock(berlin(2026, 11, 28, 12, 0)))
    await scheduler.reload()
    assert sorted(scheduler._slots) == [
        (dt.time(9), "Europe/Berlin"),
        (dt.time(10), "Europe/Berlin"),
    ]
    await scheduler.run_slot(dt.time(9), "Europe/Berlin")
    assert sorted(poster.channels()) == sorted(f"c{i}" for i in range(30) if i % 2)


# -- exactly once ------------------------------------------------------------------------------


async def test_two_schedulers_racing_post_each_channel_once(storage, db_url):
    """Two schedulers with their own connection pools, as two processes would have."""
    channels = [f"c{i}" for i in range(60)]
    for channel in channels:
        await storage.save_subscription(sub(channel))
    other = await Storage.open(db_url)
    try:
        poster = RecordingPoster(delay=0.001)
        clock = Clock(berlin(2026, 11, 28, 9, 0))
        first = make_scheduler(storage, poster, clock, max_concurrent_posts=16)
        second = make_scheduler(other, poster, clock, max_concurrent_posts=16)
        await asyncio.gather(
            first.run_slot(dt.time(9), "Europe/Berlin"),
            second.run_slot(dt.time(9), "Europe/Berlin"),
            first.sweep(),
        )
        assert Counter(poster.channels()) == Counter(channels)
    finally:
        await other.close()


async def test_rate_limits_are_waited_out_and_every_post_arrives_once(storage):
    channels = [f"c{i}" for i in range(40)]
    for channel in channels:
        await storage.save_subscription(sub(channel))
    poster = RecordingPoster(rate_limit_every=4, retry_after=0.02)
    scheduler = make_scheduler(storage, poster, Clock(berlin(2026, 11, 28, 9, 0)))
    await scheduler.run_slot(dt.time(9), "Europe/Berlin")
    assert Counter(poster.channels()) == Counter(channels)
    assert poster.calls > len(channels)  # some calls were answered with a rate limit


async def test_a_failed_post_is_retried_with_backoff(storage):
    await storage.save_subscription(sub("flaky"))
    poster = RecordingPoster(failing={"flaky": 2})
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    scheduler = make_scheduler(storage, poster, clock)
    await scheduler.run_slot(dt.time(9), "Europe/Berlin")
    record = await storage.get_post("console", "flaky", dt.date(2026, 11, 28))
    assert record.state == "failed"
    await scheduler.sweep()  # too early: the backoff has not passed
    assert poster.sent == []
    clock.now += dt.timedelta(seconds=31)
    await scheduler.sweep()
    clock.now += dt.timedelta(seconds=61)
    await scheduler.sweep()
    assert poster.channels() == ["flaky"]
    record = await storage.get_post("console", "flaky", dt.date(2026, 11, 28))
    assert (record.state, record.attempts) == ("posted", 3)


async def test_a_gone_channel_marks_the_subscription_failing(storage):
    await storage.save_subscription(sub("gone"))
    poster = RecordingPoster(gone={"gone"})
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    scheduler = make_scheduler(storage, poster, clock)
    await scheduler.run_slot(dt.time(9), "Europe/Berlin")
    assert (await storage.get_subscription("console", "gone")).failing == "channel_not_found"
    clock.now += dt.timedelta(hours=1)
    await scheduler.sweep()
    assert poster.calls == 1  # not retried forever
    record = await storage.get_post("console", "gone", dt.date(2026, 11, 28))
    assert record.state == "abandoned"


async def test_a_crashed_owners_claim_is_taken_over_without_a_second_post(storage):
    await storage.save_subscription(sub("general"))
    poster = RecordingPoster()
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    day = dt.date(2026, 11, 28)
    number = load_corpus().for_day(day, channel_key("console", "general")).number
    # A process claimed the post, reached the platform, and died before recording it.
    claim = await storage.claim_post(
        "console",
        "general",
        day,
        number,
        owner="dead",
        now=clock.now,
        lease=dt.timedelta(seconds=300),
    )
    assert claim is not None
    poster.sent.append(("general", number, "maxim-daily:console:general:2026-11-28"))
    scheduler = make_scheduler(storage, poster, clock, claim_timeout_seconds=300)
    await scheduler.sweep()
    assert len(poster.sent) == 1  # the lease still runs: nobody touches it
    clock.now += dt.timedelta(seconds=301)
    await scheduler.sweep()
    assert len(poster.sent) == 1  # taken over, found on the platform, not posted again
    record = await storage.get_post("console", "general", day)
    assert record.state == "posted"


async def test_slash_commands_are_answered_during_a_big_fan_out(storage):
    for i in range(100):
        await storage.save_subscription(sub(f"c{i}"))
    poster = RecordingPoster(delay=0.005)
    scheduler = make_scheduler(storage, poster, Clock(berlin(2026, 11, 28, 9, 0)))
    fan_out = asyncio.ensure_future(scheduler.run_slot(dt.time(9), "Europe/Berlin"))
    while not poster.sent:  # the fan-out is under way
        await asyncio.sleep(0)
    answered = await storage.get_subscription("console", "c1")  # another request meanwhile
    assert answered is not None
    assert not fan_out.done()  # the fan-out was still going while we were answered
    assert len(poster.sent) < 100
    await fan_out
    assert len(poster.sent) == 100
