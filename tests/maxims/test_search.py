"""Search: case-insensitive, apostrophe-blind, typo-tolerant, ranked by relevance."""

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maxims import load_corpus, search
from maxims.model import Maxim
from maxims.search import (
    MAX_QUERY_WORDS,
    MAX_WORD_LENGTH,
    SearchIndex,
    _letters,
    match_weight,
    within_distance,
    words,
)

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
        ("abc", "abd", 0, False),
        ("abcdef", "badcfe", 2, False),  # three swaps: six edits
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


# ------------------------------------------------------------------------------ bounded cost


def test_matches_finds_each_word_by_its_best_kind():
    index = SearchIndex([Maxim(1, "drop dropout dropouts dripout dropoff dr")])
    assert index.matches("dropout") == {
        "dropout": 1.0,
        "dropouts": 0.8,
        "drop": 0.7,
        "dripout": 0.6,  # "dropoff" is two edits away: too many for seven letters
    }
    assert index.matches("dr") == {"dr": 1.0}
    assert index.matches("dro") == {"drop": 0.8, "dropout": 0.8, "dropouts": 0.8, "dropoff": 0.8}


LETTERS = st.text(alphabet="abcdeo'é", max_size=12)


@settings(max_examples=300, deadline=None)
@given(LETTERS)
def test_matches_equals_match_weight_over_the_whole_vocabulary(query_word):
    index = load_corpus().index
    expected = {w: match_weight(query_word, w) for w in index.postings}
    assert index.matches(query_word) == {w: k for w, k in expected.items() if k}


@settings(max_examples=500, deadline=None)
@given(LETTERS, LETTERS, st.integers(min_value=0, max_value=3))
def test_the_letter_filter_never_rules_out_a_real_typo(a, b, limit):
    if within_distance(a, b, limit):
        assert (_letters(a) & ~_letters(b)).bit_count() <= limit
        assert (_letters(b) & ~_letters(a)).bit_count() <= limit


def test_letters_count_each_occurrence_up_to_three():
    assert _letters("a") == 1 << 4
    assert _letters("aa") == 0b11 << 4
    assert _letters("aaaaa") == 0b1111 << 4
    assert _letters("ba") == (1 << 4) | (1 << 8)


def test_only_the_first_eight_distinct_words_of_up_to_32_letters_count():
    index = SearchIndex(load_corpus().maxims)
    seen = []
    matches = index.matches
    index.matches = lambda word: seen.append(word) or matches(word)
    filler = [f"zq{n}" for n in range(MAX_QUERY_WORDS - 1)]
    assert [m.number for m in index.search([*filler, "zq0", "ethereum"])] == [39]
    assert [m.number for m in index.search([*filler, "zq7", "ethereum"])] == []
    long_word = "overfitting" + "x" * 40
    assert {m.number for m in index.search([long_word])} >= OVERFITTING  # the stem still counts
    assert max(len(word) for word in seen) == MAX_WORD_LENGTH
    assert len(seen) == 2 * MAX_QUERY_WORDS + 1


def _imports_rapidfuzz(code):
    code = f"import sys; from maxims import load_corpus; {code}; print('rapidfuzz' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


@pytest.mark.child_process
def test_rapidfuzz_is_imported_only_when_a_typo_is_possible():
    assert not _imports_rapidfuzz("load_corpus().search(['overfitting', 'dropout'])")
    assert _imports_rapidfuzz("load_corpus().search(['overfiting'])")


def test_every_typo_counts_not_just_the_closest_few():
    index = SearchIndex([Maxim(1, "bats cats hats mats rats vats bass")])
    assert index.matches("xats") == dict.fromkeys(
        ["bats", "cats", "hats", "mats", "rats", "vats"], 0.6
    )


def test_rapidfuzz_is_asked_only_about_words_whose_letters_are_close(monkeypatch):
    asked = []
    within = search._within
    monkeypatch.setattr(search, "_within", lambda q, c, k: asked.append(list(c)) or within(q, c, k))
    index = SearchIndex([Maxim(1, "dropout dripout dropouts abcdefgh drop")])
    assert index.matches("overfitting") == {}
    assert index.matches("dropout") == {
        "dropout": 1.0,
        "dropouts": 0.8,
        "drop": 0.7,
        "dripout": 0.6,
    }
    assert asked == [["dripout"]]  # not itself, not what already matched better


def test_words_of_one_length_are_indexed_with_their_letters():
    index = SearchIndex([Maxim(1, "aa ab abc b")])
    assert index._letters_of_length(2) == [("aa", _letters("aa")), ("ab", _letters("ab"))]
    assert index._letters_of_length(2) is index._letters_of_length(2)
    assert index._letters_of_length(5) == []


def test_a_hint_exactly_at_the_cutoff_is_offered():
    index = SearchIndex([Maxim(1, "abcd")])
    assert index.closest_word(["abcx"]) == "abcd"  # difflib's ratio: 6/8, the 0.75 cutoff
    assert index.closest_word(["abxy"]) is None
