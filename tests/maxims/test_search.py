"""Search: case-insensitive, apostrophe-blind, typo-tolerant, ranked by relevance."""

import pytest

from maxims import load_corpus
from maxims.search import match_weight, within_distance, words

OVERFITTING = {4, 17, 31, 48}


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
