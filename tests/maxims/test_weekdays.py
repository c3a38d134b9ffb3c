"""Weekday masks: parsing what people type, the canonical text, counting chosen days."""

import datetime as dt

import pytest

from maxims.weekdays import (
    EVERY_DAY,
    WEEKDAYS,
    DaysError,
    chosen_before,
    describe_days,
    is_chosen,
    is_days,
    looks_like_days,
    parse_days,
)


@pytest.mark.parametrize(
    ("text", "mask"),
    [
        ("mon", 0b1),
        ("sun", 0b1000000),
        ("mon-fri", WEEKDAYS),
        ("Mon-Fri", WEEKDAYS),
        ("weekdays", WEEKDAYS),
        ("daily", EVERY_DAY),
        ("every day", EVERY_DAY),
        ("everyday", EVERY_DAY),
        ("mon-sun", EVERY_DAY),
        ("mon,wed,fri", 0b10101),
        ("sat,sun", 0b1100000),
        ("tue-thu,sat", 0b0101110),
        ("fri-mon", 0b1110001),  # a range wraps past Sunday
        ("wed-wed", 0b100),
        ("mon,,wed,", 0b101),
        ("mon, wed", 0b101),  # typed in one box (Discord's days option, a config value)
        ("Mon Wed  Fri", 0b10101),
        ("tue-thu , sat", 0b0101110),
    ],
)
def test_parse_days(text, mask):
    assert parse_days(text) == mask
    assert is_days(text)


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("funday", "funday"),
        ("mon-fry", "fry"),
        ("mon-", "mon-"),
        ("", ""),
        (",", ","),
        ("-fri", ""),
    ],
)
def test_bad_days_name_the_bad_part(text, word):
    with pytest.raises(DaysError) as caught:
        parse_days(text)
    assert caught.value.word == word
    assert not is_days(text)


@pytest.mark.parametrize(
    ("mask", "text"),
    [
        (EVERY_DAY, "every day"),
        (WEEKDAYS, "weekdays"),
        (0b10101, "mon,wed,fri"),
        (0b1100000, "sat,sun"),
        (0b0101110, "tue-thu,sat"),
        (0b0000011, "mon,tue"),
        (0b1110001, "mon,fri-sun"),
        (0b0111110, "tue-sat"),
    ],
)
def test_describe_days_is_canonical_and_parses_back(mask, text):
    assert describe_days(mask) == text
    assert parse_days(text) == mask


def test_every_mask_describes_and_parses_back():
    for mask in range(1, 128):
        assert parse_days(describe_days(mask)) == mask


@pytest.mark.parametrize("word", ["funday", "mon,xyz", "mon-fry", "Sunday"])
def test_what_looks_like_days(word):
    assert looks_like_days(word)


@pytest.mark.parametrize(
    "word", ["Europe/Berlin", "UTC", "card", "Etc/GMT-14", "America/Port-au-Prince"]
)
def test_what_does_not_look_like_days(word):
    assert not looks_like_days(word)


def test_is_chosen():
    assert [is_chosen(d, WEEKDAYS) for d in range(7)] == [True] * 5 + [False] * 2


@pytest.mark.parametrize("mask", [EVERY_DAY, WEEKDAYS, 0b10101, 0b1000000, 0b0101110, 1])
def test_chosen_before_counts_chosen_days_from_a_monday(mask):
    monday = dt.date(2024, 1, 1)
    for n in range(-30, 30):
        start, end = (
            (monday, monday + dt.timedelta(n)) if n >= 0 else (monday + dt.timedelta(n), monday)
        )
        count = sum(
            is_chosen((start + dt.timedelta(i)).weekday(), mask) for i in range((end - start).days)
        )
        assert chosen_before(n, mask) == (count if n >= 0 else -count)
