"""The time rules of daily posts: wall-clock times in a zone, daylight saving, descriptions.

Pure functions, so these tests need no clock, storage or scheduler: every instant is given.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.daily.time_rules import (
    describe_next,
    next_instant,
    next_post_day,
    posts_on,
    scheduled_instant,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
UTC = dt.UTC


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN).astimezone(UTC)


# -- scheduled_instant -------------------------------------------------------------------------


def test_nine_in_berlin_is_eight_utc_in_winter_and_seven_in_summer():
    assert scheduled_instant(dt.date(2026, 1, 15), dt.time(9), BERLIN) == dt.datetime(
        2026, 1, 15, 8, tzinfo=UTC
    )
    assert scheduled_instant(dt.date(2026, 7, 15), dt.time(9), BERLIN) == dt.datetime(
        2026, 7, 15, 7, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("zone", "day", "at", "expected_utc"),
    [
        # clocks go forward: 02:30 does not exist, the first valid minute after it is 03:00
        (BERLIN, dt.date(2026, 3, 29), dt.time(2, 30), dt.datetime(2026, 3, 29, 1, 0)),
        (NEW_YORK, dt.date(2026, 3, 8), dt.time(2, 30), dt.datetime(2026, 3, 8, 7, 0)),
        # clocks go back: 02:30 (01:30 in New York) happens twice, the first one counts
        (BERLIN, dt.date(2026, 10, 25), dt.time(2, 30), dt.datetime(2026, 10, 25, 0, 30)),
        (NEW_YORK, dt.date(2026, 11, 1), dt.time(1, 30), dt.datetime(2026, 11, 1, 5, 30)),
    ],
)
def test_daylight_saving_days_have_one_instant_at_the_wall_clock_time(zone, day, at, expected_utc):
    instant = scheduled_instant(day, at, zone)
    assert instant == expected_utc.replace(tzinfo=UTC)
    local = instant.astimezone(zone)
    assert local.date() == day
    assert local.fold == 0  # the first of two occurrences, where there are two


def test_a_skipped_time_that_is_not_on_the_hour_moves_to_the_first_valid_minute():
    # 02:59 does not exist in Berlin on 29 March 2026; 03:00 CEST is the first minute after it
    assert scheduled_instant(dt.date(2026, 3, 29), dt.time(2, 59), BERLIN) == berlin(
        2026, 3, 29, 3, 0
    )


# -- next_instant ------------------------------------------------------------------------------


def test_next_instant_is_strictly_after_now():
    now = berlin(2026, 11, 28, 9, 0)
    assert next_instant(now, dt.time(9), BERLIN) == berlin(2026, 11, 29, 9, 0)
    just_before = now - dt.timedelta(microseconds=1)
    assert next_instant(just_before, dt.time(9), BERLIN) == now


def test_next_instant_is_today_in_the_zone_not_in_utc():
    # 23:30 UTC on the 28th is already 08:30 on the 29th in Tokyo: 09:00 there is 30 min away
    now = dt.datetime(2026, 11, 28, 23, 30, tzinfo=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert next_instant(now, dt.time(9), tokyo) == dt.datetime(2026, 11, 29, 0, 0, tzinfo=UTC)


def test_next_instant_across_the_spring_gap():
    now = berlin(2026, 3, 28, 12, 0)
    assert next_instant(now, dt.time(2, 30), BERLIN) == berlin(2026, 3, 29, 3, 0)


# -- describe_next -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "zone", "now", "expected"),
    [
        (
            berlin(2026, 11, 29, 9, 0),
            "Europe/Berlin",
            berlin(2026, 11, 28, 9, 0),
            "Sun 29 Nov 09:00 Europe/Berlin (in 24 h 0 min)",
        ),
        (
            berlin(2026, 11, 28, 9, 0),
            "Europe/Berlin",
            berlin(2026, 11, 28, 7, 55),
            "Sat 28 Nov 09:00 Europe/Berlin (in 1 h 5 min)",
        ),
        (
            berlin(2026, 7, 15, 9, 0),
            "Europe/Berlin",
            berlin(2026, 7, 15, 8, 20, 30),
            "Wed 15 Jul 09:00 Europe/Berlin (in 39 min)",  # seconds are dropped, not rounded up
        ),
        (
            dt.datetime(2026, 11, 29, 0, 0, tzinfo=UTC),
            "Asia/Tokyo",
            dt.datetime(2026, 11, 28, 23, 30, tzinfo=UTC),
            "Sun 29 Nov 09:00 Asia/Tokyo (in 30 min)",
        ),
        (
            berlin(2026, 11, 28, 9, 0),
            "Europe/Berlin",
            berlin(2026, 11, 28, 9, 1),
            "Sat 28 Nov 09:00 Europe/Berlin (in 0 min)",  # never a negative wait
        ),
    ],
)
def test_describe_next_says_when_in_the_channels_zone(instant, zone, now, expected):
    assert describe_next(instant, zone, now) == expected


def test_next_instant_skips_days_not_chosen_in_the_local_zone():
    friday_evening = berlin(2026, 12, 4, 10, 0)
    weekdays = 0b0011111
    assert next_instant(friday_evening, dt.time(9), BERLIN, weekdays) == berlin(2026, 12, 7, 9, 0)
    assert next_instant(friday_evening, dt.time(9), BERLIN) == berlin(2026, 12, 5, 9, 0)
    # Auckland's Monday 09:00 is Sunday 20:00 in UTC.
    auckland = ZoneInfo("Pacific/Auckland")
    assert next_instant(
        dt.datetime(2026, 12, 5, 0, 0, tzinfo=UTC), dt.time(9), auckland, weekdays
    ) == dt.datetime(2026, 12, 6, 20, 0, tzinfo=UTC)


def test_next_post_day_and_posts_on():
    saturday = dt.date(2026, 12, 5)
    assert not posts_on(saturday, 0b0011111)
    assert posts_on(saturday, 0b0100000)
    assert next_post_day(saturday, 0b0011111) == dt.date(2026, 12, 7)
    assert next_post_day(saturday, 0b1111111) == saturday
    assert next_post_day(saturday, 0) == saturday  # nothing chosen reads as every day
