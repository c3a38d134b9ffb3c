"""Maxim of the day: deterministic, every maxim once per cycle, no repeat at the boundary."""

import datetime as dt
import itertools
import subprocess
import sys

import pytest

from maxims import daily, load_corpus
from maxims.daily import EPOCH_ORDINAL, SplitMix64, _fnv1a, cycle_order, number_for_day

SIZE = 70


@pytest.mark.parametrize("key", ["", "slack:C1", "discord:42", "console:console"])
def test_each_cycle_shows_every_maxim_once(key):
    for cycle in range(-3, 40):
        assert sorted(cycle_order(cycle, key, SIZE)) == list(range(1, SIZE + 1))


@pytest.mark.parametrize("key", ["", "slack:C1", "discord:42"])
def test_no_maxim_twice_in_a_row_across_cycle_boundaries(key):
    start = dt.date.fromordinal(EPOCH_ORDINAL)
    numbers = [number_for_day(start + dt.timedelta(days=i), key, SIZE) for i in range(70 * 200)]
    repeats = [i for i in range(1, len(numbers)) if numbers[i] == numbers[i - 1]]
    assert repeats == []


def test_any_seventy_aligned_days_cover_the_corpus():
    start = dt.date.fromordinal(EPOCH_ORDINAL + 70 * 12)
    days = [start + dt.timedelta(days=i) for i in range(70)]
    assert sorted(load_corpus().for_day(d, "slack:C9").number for d in days) == list(range(1, 71))


def test_channels_get_different_orders():
    assert cycle_order(5, "slack:C1", SIZE) != cycle_order(5, "slack:C2", SIZE)


@pytest.mark.child_process
def test_the_same_in_another_process():
    """No hash randomisation or process state leaks into the choice."""
    days = [dt.date(2026, 11, 28) + dt.timedelta(days=i) for i in range(10)]
    here = [number_for_day(d, "slack:C1", SIZE) for d in days]
    code = (
        "import datetime as dt; from maxims.daily import number_for_day; "
        "print([number_for_day(dt.date(2026, 11, 28) + dt.timedelta(days=i), 'slack:C1', 70) "
        "for i in range(10)])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(here)


def test_the_order_is_pinned_for_a_fixed_channel():
    """A change here would move every channel's maxim of the day: it must be deliberate."""
    assert cycle_order(0, "slack:C1", SIZE)[:12] == (56, 41, 47, 62, 10, 57, 3, 40, 22, 69, 46, 67)
    assert cycle_order(0, "slack:C1", SIZE)[-3:] == (44, 4, 20)
    week = [dt.date(2026, 11, 28) + dt.timedelta(days=i) for i in range(7)]
    assert [number_for_day(d, "slack:C1", SIZE) for d in week] == [20, 7, 26, 57, 36, 32, 43]
    assert [number_for_day(d, "discord:42", SIZE) for d in week] == [30, 45, 19, 20, 51, 53, 9]


def test_the_corpus_day_is_number_for_day():
    corpus = load_corpus()
    day = dt.date(2026, 11, 28)
    assert corpus.for_day(day, "slack:C1").number == 20
    assert corpus.for_day(day) == corpus.for_day(day, "") == corpus.get(number_for_day(day, "", 70))


def test_consecutive_cycles_differ_and_no_maxim_always_ends_them():
    orders = [cycle_order(cycle, "slack:C1", SIZE) for cycle in range(10)]
    assert all(a != b for a, b in itertools.pairwise(orders))
    assert {order[-1] for order in orders} == {1, 10, 20, 25, 32, 40, 54, 55, 59, 60}


def test_a_cycle_starting_with_the_last_maxim_swaps_its_first_two_days():
    # Three maxims, channel "a": cycle 2 ends with 2 and cycle 3 would start with 2.
    assert [cycle_order(c, "a", 3) for c in range(4)] == [
        (3, 2, 1),
        (2, 1, 3),
        (1, 3, 2),
        (3, 2, 1),
    ]


def test_two_maxims_are_never_swapped():
    # With two, the swapped day would be the cycle's last one, which the next cycle reads raw.
    assert [cycle_order(c, "a", 2) for c in range(4)] == [(1, 2), (1, 2), (1, 2), (2, 1)]


def test_the_generator_and_hash_are_the_published_ones():
    rng = SplitMix64(0)
    assert [rng.next() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]
    assert _fnv1a(b"") == 0xCBF29CE484222325
    assert _fnv1a(b"a") == 0xAF63DC4C8601EC8C
    assert SplitMix64(0).randrange(10) == 0xE220A8397B1DCDAF % 10


def test_the_order_cache_is_bounded():
    sizes = set()
    for cycle in range(5000):
        cycle_order(cycle, "bounded", 5)
        sizes.add(len(daily._cache))
    assert max(sizes) == 4096


WEEKDAYS_MASK = 0b0011111


@pytest.mark.parametrize("mask", [WEEKDAYS_MASK, 0b10101, 0b1100000, 0b1000000])
def test_with_chosen_days_each_maxim_once_per_seventy_posts(mask):
    start = dt.date.fromordinal(EPOCH_ORDINAL)
    posts = [
        number_for_day(day, "slack:C1", SIZE, mask)
        for i in range(7 * 400)
        if mask >> (day := start + dt.timedelta(days=i)).weekday() & 1
    ]
    for first in range(0, len(posts) - SIZE, SIZE):
        assert sorted(posts[first : first + SIZE]) == list(range(1, SIZE + 1))
    assert [i for i in range(1, len(posts)) if posts[i] == posts[i - 1]] == []


def test_a_day_without_a_post_shows_the_next_posts_maxim():
    saturday, sunday, monday = (dt.date(2026, 12, 5) + dt.timedelta(days=i) for i in range(3))
    friday = saturday - dt.timedelta(days=1)
    key = "slack:C1"
    assert number_for_day(saturday, key, SIZE, WEEKDAYS_MASK) == number_for_day(
        monday, key, SIZE, WEEKDAYS_MASK
    )
    assert number_for_day(sunday, key, SIZE, WEEKDAYS_MASK) == number_for_day(
        monday, key, SIZE, WEEKDAYS_MASK
    )
    assert number_for_day(friday, key, SIZE, WEEKDAYS_MASK) != number_for_day(
        monday, key, SIZE, WEEKDAYS_MASK
    )


def test_posting_index_counts_chosen_days_and_every_day_is_the_day_count():
    monday = dt.date.fromordinal(EPOCH_ORDINAL)
    assert monday.weekday() == 0  # the count relies on the epoch being a Monday
    for i in range(-20, 40):
        day = monday + dt.timedelta(days=i)
        assert daily.posting_index(day) == i
        assert daily.posting_index(day, 0) == i  # no day at all reads as every day
    assert daily.posting_index(monday + dt.timedelta(days=7), WEEKDAYS_MASK) == 5
    assert daily.posting_index(monday + dt.timedelta(days=5), WEEKDAYS_MASK) == 5  # Saturday
    assert daily.posting_index(monday + dt.timedelta(days=4), WEEKDAYS_MASK) == 4  # Friday


def test_every_day_is_what_it_was_before_days():
    day = dt.date(2026, 12, 5)
    assert number_for_day(day, "slack:C1", SIZE, 0b1111111) == number_for_day(day, "slack:C1", SIZE)
    corpus = load_corpus()
    assert corpus.for_day(day, "k", 0b1111111) == corpus.for_day(day, "k")
