"""Search: case-insensitive, apostrophe-blind, typo-tolerant, ranked by relevance."""

import math

import pytest

from maxims import load_corpus
from maxims.model import Maxim
from maxims.search import SearchIndex, match_weight, within_distance, words

OVERFITTING = {4, 17, 31, 48}
THE = [7, 8, 10, 12, 14, 16, 17, 18, 19, 25, 27, 28, 29, 30, 36, 45, 47, 50, 51, 52, 53, 58]
THE += [60, 63, 65, 66, 67, 69, 70]


def numbers(*query):
    return [m.number for m in load_corpus().search(query)]


def test_a_typo_still_finds_the_overfitting_maxims():
    found = numbers("overfiting")
    assert set(found[:8]) >= OVERFITTING


def test_case_does_not_matter():
    assert numbers("NaN") == numbers("nan")


def test_straight_and_typographic_apostrophes_are_equal():
    assert numbers("you're") == numbers("you’re")
    assert 38 in numbers("what's")


def test_more_query_words_matched_ranks_higher():
    found = numbers("dropout", "layers")
    assert found[0] == 59  # "Two dropout layers..." has both words


def test_tags_are_searchable():
    assert {34, 40, 55} <= set(numbers("nan"))


def test_rare_words_outrank_common_ones():
    assert numbers("ethereum")[0] == 39


@pytest.mark.parametrize(
    ("a", "b", "limit", "expected"),
    [
        ("kitten", "sitting", 3, True),
        ("kitten", "sitting", 2, False),
        ("abc", "abc", 0, True),
        ("", "ab", 2, True),
        ("overfiting", "overfitting", 1, True),
    ],
)
def test_within_distance(a, b, limit, expected):
    assert within_distance(a, b, limit) is expected


def test_short_words_need_an_exact_or_prefix_match():
    assert match_weight("gpu", "gpus") > 0
    assert match_weight("cat", "bat") == 0


def test_words_splits_on_punctuation_and_keeps_inner_apostrophes():
    assert words("It’s only—too MANY layers!") == ["it's", "only", "too", "many", "layers"]
    assert words("the models' 'quoted'") == ["the", "models", "quoted"]
    assert words("rock'n'roll'") == ["rock'n'roll"]


@pytest.mark.parametrize(
    ("query_word", "word", "weight"),
    [
        ("dropout", "dropout", 1.0),  # exact
        ("dro", "dropout", 0.8),  # a prefix of three letters or more
        ("dr", "drop", 0.0),
        ("dropouts", "drop", 0.7),  # the word is a stem of four letters or more
        ("gpusx", "gpu", 0.0),
        ("drap", "drop", 0.6),  # four letters: one typo
        ("dtap", "drop", 0.0),
        ("dropoot", "dropout", 0.6),  # seven letters: still one
        ("drapoot", "dropout", 0.0),
        ("laerning", "learning", 0.6),  # eight letters: two
        ("laernimg", "learning", 0.0),
    ],
)
def test_match_weight_by_kind_and_typo_limits_at_four_and_eight_letters(query_word, word, weight):
    assert match_weight(query_word, word) == weight


@pytest.mark.parametrize(
    ("query", "ranked"),
    [
        (("overfiting",), [48, 4, 17, 23, 29, 31, 50]),
        (("dropout", "layers"), [59, 16, 30, 6, 20, 54]),
        (("learning", "rate"), [12, 34, 70, 57, 18]),
        (("nan", "learning"), [34, 55, 40, 12, 57, 70, 18]),
        (("training", "loss"), [12, 23, 36, 1, 49, 29, 30, 2, 10, 11, 17, 26, 37, 41, 48, 50, 70]),
        (("model",), [25, 60, 6, 9, 16, 21, 32, 35]),
        (("dropouts",), [16, 30, 59]),
        (("costs", "data"), [46, 7, 11, 21, 28, 39, 57, 1, 5, 22, 36, 47, 53, 56, 66]),
        (("back", "youre"), [9, 43, 30, 20, 22, 33, 34, 13, 39, 52, 53, 6, 16, 19, 25, 35, 47]),
        (("yoor",), [6, 9, 16, 19, 20, 25, 35, 47]),
        # a typo of a common word weighs under 1: it still counts
        (
            ("tahe",),
            [21, *THE],
        ),
    ],
)
def test_rankings_are_pinned(query, ranked):
    assert numbers(*query) == ranked


def test_equal_matches_rank_by_number():
    assert numbers("layer") == [6, 20, 54, 59]
    assert numbers("gpu") == [39, 56]


def test_apostrophe_variants_are_searchable():
    assert numbers("youre")[:5] == [20, 22, 33, 34, 43]  # you’re
    assert 25 in numbers("model")  # model’s


def test_stop_words_count_only_when_there_is_nothing_else():
    assert numbers("the", "ethereum") == [39]
    assert numbers("ethereum") == [39]
    assert numbers("the")[:5] == [1, 8, 39, 42, 55]


def test_rarer_words_weigh_more():
    index = load_corpus().index
    assert index.weight["ethereum"] == pytest.approx(math.log(71))
    small = SearchIndex([Maxim(1, "a b"), Maxim(2, "b")])
    assert small.weight == {"a": pytest.approx(math.log(3)), "b": pytest.approx(math.log(2))}
    assert SearchIndex([Maxim(1, "a")]).weight == {"a": pytest.approx(math.log(2))}


def test_searches_are_cached_and_the_cache_is_bounded():
    index = SearchIndex(load_corpus().maxims)
    calls = []
    search = index._search
    index._search = lambda words: calls.append(words) or search(words)
    first = index.search(["dropout"])
    first.clear()  # the caller's copy, not the cache
    assert [m.number for m in index.search(["dropout"])] == [16, 30, 59]
    assert calls == [("dropout",)]
    sizes = set()
    for n in range(600):
        index.search([f"w{n}"])
        sizes.add(len(index._cache))
    assert max(sizes) == 512


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        ("dropuotx", "dropout"),
        ("ovrfttng", "overfitting"),
        ("thier", None),  # "their" is a stop word: never offered
        ("datum", None),  # "data" is not close enough
    ],
)
def test_closest_word(query, hint):
    assert load_corpus().index.closest_word([query]) == hint
