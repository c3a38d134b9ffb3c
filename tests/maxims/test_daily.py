"""Maxim of the day: deterministic, every maxim once per cycle, no repeat at the boundary."""

import datetime as dt
import subprocess
import sys

import pytest

from maxims import load_corpus
from maxims.daily import EPOCH_ORDINAL, cycle_order, number_for_day

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
