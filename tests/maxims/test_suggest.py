"""Autocomplete: keywords from the help table, numbers, search results, time zone names."""

import pytest

from maxims import load_corpus, render_help
from maxims.reply import HELP
from maxims.suggest import (
    COMMON_DAYS,
    COMMON_ZONES,
    KEYWORDS,
    available_zones,
    maxim_choice,
    suggest_days,
    suggest_queries,
    suggest_zones,
)
from maxims.weekdays import parse_days


def values(current, **kwargs):
    return [value for _, value in suggest_queries(load_corpus(), current, **kwargs)]


def test_keywords_and_their_wording_come_from_the_help_table():
    assert KEYWORDS == (
        ("random", "a random maxim"),
        ("today", "today’s maxim of the day"),
        ("card", "maxim 42 as a picture; also card, card today, card search WORDS"),
        ("list", "every maxim, numbered"),
        (
            "daily",
            "daily post here; daily HH:MM Area/City [mon-fri] [card] [thread], daily off (admins)",
        ),
        ("stats", "what this workspace asked for, shared and got daily (counts only)"),
        ("help", "this help"),
    )
    help_text = render_help()
    for line in HELP:
        assert line.what in help_text


def test_an_empty_query_offers_six_keywords_then_the_first_maxims():
    suggestions = suggest_queries(load_corpus(), "  ")
    assert [value for _, value in suggestions] == [
        "random",
        "today",
        "card",
        "list",
        "stats",
        "help",
        *(str(n) for n in range(1, 20)),
    ]
    assert suggestions[0] == ("random · a random maxim", "random")
    assert suggestions[6] == ("1 · Preprocess, then train.", "1")


def test_a_limit_below_the_keywords_cuts_them_too():
    assert values("", limit=3) == ["random", "today", "card"]
    assert values("nan", limit=2) == ["55", "34"]


def test_typed_keywords_come_first_and_daily_is_offered_once_typed():
    assert suggest_queries(load_corpus(), "DA") == [
        (
            "daily · daily post here; daily HH:MM Area/City [mon-fri] [card] [thread], "
            "daily off (admins)",
            "daily",
        )
    ]
    nums = [5, 6, 20, 21, 23, 26, 27, 42, 45, 46, 47, 49, 56, 57, 59, 60, 63, 70]
    assert values("to") == ["today", *(str(n) for n in nums)]
    assert values("he")[0] == "help"


@pytest.mark.parametrize(
    ("typed", "offered"),
    [("list", ["list"]), ("help me", []), ("daily 9", []), ("today please", []), ("Random x", [])],
)
def test_keywords_are_not_searched_for(typed, offered):
    assert values(typed) == offered


@pytest.mark.parametrize("typed", ["3", "#3", " #3 "])
def test_a_number_offers_that_maxim_then_those_starting_with_it(typed):
    assert values(typed) == ["3", *(str(n) for n in range(30, 40))]


def test_numbers_are_read_from_their_first_six_digits():
    assert values("03") == ["3"]
    assert values("000003") == ["3"]
    assert values("0000003") == []


def test_numbers_with_no_maxim_offer_nothing():
    assert values("71") == []
    assert values("0") == []
    assert values("#") == []
    assert values("1234567890123") == []


def test_words_offer_the_search_results_in_rank_order():
    assert values("nan") == ["55", "34", "40"]
    assert values("overfiting") == ["48", "4", "17", "23", "29", "31", "50"]
    assert values("@@") == []


def test_many_results_stop_at_the_limit():
    assert len(values("the")) == 25
    assert values("the")[:5] == ["1", "8", "39", "42", "55"]
    assert len(values("the", limit=5)) == 5


def test_names_show_number_and_preview_cut_to_the_name_length():
    assert suggest_queries(load_corpus(), "nan")[1] == (
        "34 · If you’re seeing NaN, you need a smaller learning rate.",
        "34",
    )
    assert suggest_queries(load_corpus(), "7", name_length=20) == [
        ("7 · If the accuracy…", "7"),
        ("70 · Failure is…", "70"),
    ]
    names = [name for name, _ in suggest_queries(load_corpus(), "the")]
    assert all(len(name) <= 100 for name in names)
    assert sum(name.endswith("…") for name in names) > 0


def test_keyword_names_are_cut_to_the_name_length_too():
    assert suggest_queries(load_corpus(), "da", name_length=12) == [("daily · dail", "daily")]


def test_maxim_choice_fits_exactly():
    name, value = maxim_choice(load_corpus().get(19), 40)
    assert value == "19"
    assert len(name) <= 40
    assert name.startswith("19 · The field advances")


ZONES = (
    "Africa/Abuja",
    "America/Argentina/Buenos_Aires",
    "America/Los_Angeles",
    "Asia/Colombo",
    "Asia/Tokyo",
    "Europe/London",
    "Pacific/Tongatapu",
)


def zone_names(current, **kwargs):
    pairs = suggest_zones(current, zones=ZONES, **kwargs)
    assert all(name == value for name, value in pairs)
    return [name for name, _ in pairs]


def test_zones_rank_prefix_then_city_then_anywhere():
    assert zone_names("e") == [
        "Europe/London",
        "America/Argentina/Buenos_Aires",
        "America/Los_Angeles",
    ]
    assert zone_names("LO") == ["America/Los_Angeles", "Europe/London", "Asia/Colombo"]
    assert zone_names("as") == ["Asia/Colombo", "Asia/Tokyo"]
    assert zone_names("a", limit=2) == ["Africa/Abuja", "America/Argentina/Buenos_Aires"]
    assert zone_names("bu") == ["America/Argentina/Buenos_Aires", "Africa/Abuja"]  # the city
    assert zone_names("to") == ["Asia/Tokyo", "Pacific/Tongatapu"]
    assert zone_names("xyz") == []


def test_spaces_in_a_zone_are_underscores():
    assert zone_names("  los   angeles ") == ["America/Los_Angeles"]
    assert suggest_zones("new york") == [("America/New_York", "America/New_York")]


def test_no_zone_typed_offers_the_common_ones():
    assert suggest_zones(" ") == [(zone, zone) for zone in COMMON_ZONES]
    assert suggest_zones("", limit=2) == [("UTC", "UTC"), ("Europe/London", "Europe/London")]


def test_the_real_zone_database_is_read_once_and_filtered():
    zones = available_zones()
    assert zones is available_zones()
    assert "UTC" in zones
    assert "Europe/Berlin" in zones
    assert not any(zone.startswith("Etc/") or "/" not in zone for zone in zones if zone != "UTC")
    assert list(zones) == sorted(zones)
    assert suggest_zones("berl")[0] == ("Europe/Berlin", "Europe/Berlin")
    assert len(suggest_zones("a")) == 25
    assert len(suggest_zones("a", limit=3)) == 3


def test_card_then_a_number_offers_those_maxims_as_cards():
    suggestions = suggest_queries(load_corpus(), "card 3", limit=3, name_length=30)
    assert suggestions == [
        ("card 3 · A debugger with a…", "card 3"),
        ("card 30 · A little dropout…", "card 30"),
        ("card 31 · Only overfitters…", "card 31"),
    ]
    assert all(len(name) <= 30 for name, _ in suggestions)
    assert values("CARD #34") == ["card 34"]


def test_card_then_words_offers_the_search_results_as_cards():
    assert values("card nan") == ["card 55", "card 34", "card 40"]
    assert values("card nan") == [f"card {n}" for n in values("nan")]


def test_card_offers_only_the_keywords_that_choose_one_maxim():
    assert values("card t") == ["card today"]
    assert values("card r") == ["card random"]
    assert values("l") == ["list"]
    assert values("card l") == []  # list: many maxims, not a card
    assert values("h") == ["help", "19"]
    assert values("card h") == ["card 19"]
    assert values("d") == ["daily"]
    assert values("card d") == []
    assert values("car") == ["card"]
    assert values("card") == ["card"]


def days(current):
    return [value for _, value in suggest_days(current)]


def test_days_offers_the_common_days_when_nothing_is_typed():
    assert suggest_days("") == list(COMMON_DAYS)
    assert suggest_days("  ") == list(COMMON_DAYS)


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("mon", "mon"),  # what was typed reads as days: it comes first
        ("Mon, Wed", "mon,wed"),  # in its canonical form
        ("fri-mon", "mon,fri-sun"),
        ("every day", "every day"),
        ("mon,w", "mon,wed"),  # the day being typed, completed
        ("tue-t", "tue-thu"),  # a range's end too
        ("mon,wed,f", "mon,wed,fri"),
        ("week", "weekdays"),
        ("every", "every day"),
    ],
)
def test_days_reads_and_completes_what_was_typed(typed, first):
    assert days(typed)[0] == first


def test_days_completes_every_day_that_fits_and_names_it_as_typed():
    assert suggest_days("s")[:2] == [("sat", "sat"), ("sun", "sun")]  # both, not the last
    assert suggest_days("mon, w")[0] == ("mon,wed", "mon,wed")  # ", " is one separator


def test_days_never_offers_what_does_not_read_back():
    for typed in ("funday", "xyz", "mon,zz", "x" * 300, "-", ",", "tue-tue"):
        for name, value in suggest_days(typed):
            assert parse_days(value)
            assert 1 <= len(name) <= 100
    assert days("funday") == []
    assert days("tue-t").count("tue") == 0  # no "tue-tue" range offered


def test_days_offers_at_most_the_limit():
    assert len(suggest_days("", limit=3)) == 3
    assert len(suggest_days("s")) <= 25
