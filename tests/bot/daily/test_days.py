"""Chosen days (`mon-fri`): the trigger, the sweep and the fan-out post only on local chosen days.

Saturday 5 Dec 2026 and Monday 7 Dec 2026 are the days most tests look at. Real storage (SQLite
and PostgreSQL), a hand-moved clock, a recording poster.
"""

import datetime as dt
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest

from bot.chat import channel_key
from bot.daily.post_schedule import DailyTrigger
from bot.storage import Storage
from maxims import load_corpus
from maxims.weekdays import WEEKDAYS
from tests.bot.daily.test_scheduler import berlin, make_scheduler, sub
from tests.fakes.recording_poster import RecordingPoster
from tests.helpers import Clock

UTC = dt.UTC
FRI = dt.date(2026, 12, 4)
SAT = dt.date(2026, 12, 5)
MON = dt.date(2026, 12, 7)
WEEKEND = 0b1100000
KEY = "maxim-daily:console:work:"


@pytest.fixture
async def storage(db_url):
    """Every test here that takes `storage` runs on SQLite and on PostgreSQL."""
    store = await Storage.open(db_url)
    yield store
    await store.close()


def fires(trigger: DailyTrigger, start: dt.datetime, days: int) -> list[dt.datetime]:
    """Every fire time of `trigger` in the `days` days after `start`."""
    found = []
    fire = trigger.get_next_fire_time(None, start)
    while fire < start + dt.timedelta(days=days):
        found.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return found


@pytest.mark.parametrize(
    "zone",
    [
        "Europe/Berlin",
        "Pacific/Auckland",  # ahead of UTC: its Monday 09:00 is Sunday evening in UTC
        "Pacific/Kiritimati",  # UTC+14
        "Pacific/Pago_Pago",  # UTC-11, on the other side of the date line
        "America/Los_Angeles",
    ],
)
def test_the_trigger_fires_on_local_chosen_days_only(zone):
    trigger = DailyTrigger(dt.time(9), zone, WEEKDAYS)
    found = fires(trigger, dt.datetime(2026, 11, 1, tzinfo=UTC), 28)
    local = [f.astimezone(ZoneInfo(zone)) for f in found]
    assert {d.weekday() for d in local} == {0, 1, 2, 3, 4}
    assert all((d.hour, d.minute) == (9, 0) for d in local)
    assert len(found) == 20  # four weeks of five days, each once


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Berlin", dt.datetime(2026, 3, 20, tzinfo=UTC)),  # clocks forward 29 Mar, a Sunday
        ("Europe/Berlin", dt.datetime(2026, 10, 16, tzinfo=UTC)),  # back 25 Oct, a Sunday
        ("America/New_York", dt.datetime(2026, 2, 27, tzinfo=UTC)),  # forward 8 Mar, a Sunday
    ],
)
def test_weekend_posts_across_daylight_saving_come_once_at_the_local_time(zone, start):
    trigger = DailyTrigger(dt.time(2, 30), zone, WEEKEND)
    local = [f.astimezone(ZoneInfo(zone)) for f in fires(trigger, start, 21)]
    assert [d.weekday() for d in local] == [5, 6] * 3
    assert len({d.date() for d in local}) == 6


async def test_mon_fri_does_not_post_on_saturday(storage):
    await storage.save_subscription(replace(sub("work"), days=WEEKDAYS))
    await storage.save_subscription(sub("always"))
    poster = RecordingPoster()
    scheduler = make_scheduler(storage, poster, Clock(berlin(2026, 12, 5, 9, 0)))
    await scheduler.run_slot(dt.time(9), "Europe/Berlin")
    await scheduler.sweep()
    assert poster.channels() == ["always"]
    assert await storage.get_post("console", "work", SAT) is None


async def test_catch_up_after_downtime_posts_only_on_chosen_days(storage):
    await storage.save_subscription(replace(sub("work"), days=WEEKDAYS))
    poster = RecordingPoster()
    clock = Clock(berlin(2026, 12, 5, 9, 30))  # back on Saturday, within the grace
    await make_scheduler(storage, poster, clock, catch_up_minutes=120).sweep()
    assert poster.sent == []
    clock.now = berlin(2026, 12, 7, 9, 30)  # back on Monday, within the grace
    scheduler = make_scheduler(storage, poster, clock, catch_up_minutes=120)
    await scheduler.sweep()
    await scheduler.sweep()
    expected = load_corpus().for_day(MON, channel_key("console", "work"), WEEKDAYS)
    assert [(c, n) for c, n, _ in poster.sent] == [("work", expected.number)]


async def test_a_zone_across_the_date_line_posts_on_its_own_monday(storage):
    # 09:00 Monday in Auckland is 20:00 Sunday in UTC: a UTC-minded check would skip it.
    await storage.save_subscription(replace(sub("nz", zone="Pacific/Auckland"), days=WEEKDAYS))
    poster = RecordingPoster()
    sunday_evening_utc = dt.datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    await make_scheduler(storage, poster, Clock(sunday_evening_utc)).sweep()
    assert poster.channels() == ["nz"]
    assert await storage.get_post("console", "nz", MON) is not None
    saturday_evening_utc = dt.datetime(2026, 12, 5, 20, 0, tzinfo=UTC)  # Sunday in Auckland
    later = RecordingPoster()
    await make_scheduler(storage, later, Clock(saturday_evening_utc)).sweep()
    assert later.sent == []


async def test_the_job_fires_on_the_days_of_any_channel_in_its_slot(storage):
    await storage.save_subscription(replace(sub("work"), days=WEEKDAYS))
    poster = RecordingPoster()
    scheduler = make_scheduler(storage, poster, Clock(berlin(2026, 12, 5, 8, 0)))
    await scheduler.reload()
    assert scheduler._slot_days == {(dt.time(9), "Europe/Berlin"): WEEKDAYS}
    await storage.save_subscription(replace(sub("weekend"), days=WEEKEND))
    await scheduler.reload()
    assert scheduler._slot_days == {(dt.time(9), "Europe/Berlin"): WEEKDAYS | WEEKEND}
    job = scheduler.scheduler.get_job("daily 09:00 Europe/Berlin")
    assert job.trigger.days == WEEKDAYS | WEEKEND


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Pacific/Auckland"])
async def test_downtime_across_a_weekend_posts_nothing_until_mondays_one_post(storage, zone):
    """Down from Friday evening to Monday noon, restarted every half hour on the way.

    With a catch-up window of a whole day, the first restart still catches Friday's post up;
    then nothing on Saturday or Sunday, and Monday's maxim once, after its post time.
    """
    work = replace(sub("work", zone=zone), days=WEEKDAYS)
    await storage.save_subscription(work)
    tz = ZoneInfo(zone)
    friday = dt.datetime(2026, 12, 4, 20, 0, tzinfo=tz).astimezone(UTC)
    poster = RecordingPoster()
    clock = Clock(friday)
    while clock.now < dt.datetime(2026, 12, 7, 12, 0, tzinfo=tz):
        clock.advance(minutes=30)
        await make_scheduler(storage, poster, clock, catch_up_minutes=24 * 60).sweep()
        if clock.now.astimezone(tz).date() < MON:
            assert [key for _, _, key in poster.sent] == [f"{KEY}2026-12-04"], clock.now
    expected = [
        ("work", load_corpus().for_day(day, channel_key("console", "work"), WEEKDAYS).number)
        for day in (FRI, MON)
    ]
    assert [(c, n) for c, n, _ in poster.sent] == expected
    posts = await storage.list_posts("console")
    assert sorted((p.local_date, p.state) for p in posts) == [(FRI, "posted"), (MON, "posted")]


async def test_a_dead_owners_claim_is_never_taken_over_on_a_day_that_is_not_chosen(storage):
    """A claim left on Saturday by a process that died, before its channel moved to mon-fri."""
    await storage.save_subscription(sub("work"))
    clock = Clock(berlin(2026, 12, 5, 9, 0))
    await storage.claim_post(
        "console", "work", SAT, 1, owner="gone", now=clock.now, lease=dt.timedelta(minutes=5)
    )
    await storage.save_subscription(replace(sub("work"), days=WEEKDAYS))
    clock.advance(hours=1)  # the lease is long gone, and the owner never beat
    poster = RecordingPoster()
    await make_scheduler(storage, poster, clock).sweep()
    assert poster.asked == []  # not even looked for: Saturday is no longer a posting day
    record = await storage.get_post("console", "work", SAT)
    assert (record.state, record.owner) == ("claimed", "gone")
