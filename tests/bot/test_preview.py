"""The preview flow every platform shares: state in the button, the next one, notes, privacy."""

from __future__ import annotations

import random

import pytest

from bot.preview import (
    MAX_ENCODED,
    Preview,
    answer_notes,
    is_private,
    preview_notes,
    preview_of,
)
from maxims import ListReply, MaximReply, TextReply, load_corpus

CORPUS = load_corpus()


def test_a_preview_survives_its_button_and_its_total_is_derived():
    preview = Preview(CORPUS.get(48), "search", 2, ("overfitting", "again"), total=7)
    encoded = preview.encode()
    assert encoded == "search|48|2|overfitting again"
    assert Preview.decode(encoded, CORPUS) == preview  # total is not part of equality
    assert Preview.decode(encoded, CORPUS).total is None  # nor of the button


@pytest.mark.parametrize(
    "value",
    [
        "",
        "search|48|2",
        "unknown|48|0|",
        "number|71|0|",
        "number|x|0|",
        "number|4|-1|",
        "a|b|c|d|e",
        "card|4|0|",
        "+card|4|0|",
        "unknown+card|4|0|",
        "number+card|71|0|",
    ],
)
def test_a_malformed_or_out_of_date_button_decodes_to_none(value):
    assert Preview.decode(value, CORPUS) is None


def test_long_searches_are_cut_to_fit_a_discord_custom_id():
    preview = Preview(CORPUS.get(1), "search", 0, tuple("word" * 3 for _ in range(40)))
    assert len(preview.encode()) == MAX_ENCODED


def test_another_search_result_wraps_round_and_knows_the_total():
    words = ("overfitting",)
    results = CORPUS.search(words)
    last = Preview(results[-1], "search", len(results) - 1, words)
    following = last.another(CORPUS, random.Random(1))
    assert following == Preview(results[0], "search", 0, words)
    assert following.total == len(results)


def test_another_random_maxim_is_never_the_same_one():
    preview = Preview(CORPUS.get(5), "random")
    rng = random.Random(3)
    assert all(preview.another(CORPUS, rng).maxim.number != 5 for _ in range(200))


def test_the_first_preview_of_a_search_counts_its_results():
    reply = MaximReply((CORPUS.get(4), CORPUS.get(17)), "search", ("overfit",))
    assert preview_of(reply).total == 2
    assert preview_of(MaximReply((CORPUS.get(4),), "number")).total is None


@pytest.mark.parametrize(
    ("reply", "with_preview", "private"),
    [
        (MaximReply((CORPUS.get(1),), "number"), False, False),
        (MaximReply((CORPUS.get(1),), "number"), True, True),
        (ListReply(tuple(CORPUS)), False, True),
        (TextReply("usage", "help"), False, True),
        (TextReply("nope", "error"), False, True),
    ],
)
def test_only_maxims_without_a_preview_are_public(reply, with_preview, private):
    assert is_private(reply, preview=with_preview) is private


def test_preview_notes_say_which_result_escaped_for_the_platform():
    def shout(text: str) -> str:
        return text.upper()

    search = Preview(CORPUS.get(4), "search", 1, ("overfit",), total=7)
    assert preview_notes(search, shout) == ["result 2 of 7 for “OVERFIT”"]
    assert preview_notes(Preview(CORPUS.get(4), "search", 0, ("x",)), shout) == ["a match for “X”"]
    assert preview_notes(Preview(CORPUS.get(4), "today"), shout) == ["today’s maxim"]
    assert preview_notes(Preview(CORPUS.get(4), "random"), shout) == []


def test_answer_notes_list_up_to_five_other_matches():
    many = MaximReply(tuple(CORPUS.get(n) for n in range(1, 9)), "search", ("x",))
    assert answer_notes(many) == ["more matches: 2, 3, 4, 5, 6…"]
    few = MaximReply(tuple(CORPUS.get(n) for n in (3, 9)), "search", ("x",))
    assert answer_notes(few, "#{}".format) == ["more matches: #9"]
    assert answer_notes(MaximReply((CORPUS.get(3),), "today")) == ["today’s maxim"]
    assert answer_notes(MaximReply((CORPUS.get(3),), "number")) == []


# -- cards -------------------------------------------------------------------------------------


def test_a_card_preview_survives_its_button_and_old_buttons_stay_text():
    card = Preview(CORPUS.get(48), "search", 2, ("overfitting",), card=True)
    assert card.encode() == "search+card|48|2|overfitting"
    assert Preview.decode(card.encode(), CORPUS) == card
    assert Preview.decode("number+card|34|0|", CORPUS) == Preview(
        CORPUS.get(34), "number", card=True
    )
    # a button made before cards existed
    assert Preview.decode("number|34|0|", CORPUS) == Preview(CORPUS.get(34), "number")
    assert Preview(CORPUS.get(34), "number").card is False


def test_a_long_card_search_still_fits_a_discord_custom_id_and_stays_a_card():
    preview = Preview(CORPUS.get(1), "search", 0, tuple("word" * 3 for _ in range(40)), card=True)
    assert len(preview.encode()) == MAX_ENCODED
    assert Preview.decode(preview.encode(), CORPUS).card is True


def test_shuffle_keeps_a_card_a_card():
    words = ("overfitting",)
    results = CORPUS.search(words)
    search = Preview(results[0], "search", 0, words, card=True)
    assert search.another(CORPUS, random.Random(1)) == Preview(
        results[1], "search", 1, words, card=True
    )
    shuffled = Preview(CORPUS.get(5), "random", card=True).another(CORPUS, random.Random(1))
    assert shuffled.card is True
    assert shuffled.kind == "random"
    assert Preview(CORPUS.get(5), "today").another(CORPUS, random.Random(1)).card is False


def test_the_first_preview_of_a_card_answer_is_a_card():
    reply = MaximReply((CORPUS.get(4), CORPUS.get(17)), "search", ("overfit",), card=True)
    assert preview_of(reply) == Preview(CORPUS.get(4), "search", 0, ("overfit",), card=True)
    assert preview_of(reply).total == 2
    assert preview_of(MaximReply((CORPUS.get(4),), "number")).card is False


def test_a_card_says_what_its_text_would_say():
    card = Preview(CORPUS.get(4), "today", card=True)
    assert preview_notes(card, str) == ["today’s maxim"]
    reply = MaximReply(tuple(CORPUS.get(n) for n in (3, 9)), "search", ("x",), card=True)
    assert answer_notes(reply) == ["more matches: 9"]
    assert answer_notes(MaximReply((CORPUS.get(3),), "number", card=True)) == []
