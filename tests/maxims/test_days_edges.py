"""Edges of the days grammar and of the rotation by posting days (each one a mutant's witness)."""

import datetime as dt
import random

from maxims import MaximReply, answer, load_corpus, parse_query
from maxims.query import DailySet, Invalid
from maxims.weekdays import WEEKDAYS, DaysError, looks_like_days

SATURDAY = dt.date(2026, 12, 5)
MONDAY = dt.date(2026, 12, 7)
KEY = "slack:C1"


def test_every_without_day_is_no_day_word():
    # "every" alone is not "every day": it is left to the zone check, and nothing is popped.
    assert parse_query("daily 09:00 every") == DailySet(9, 0, "every", None, None)


def test_a_zone_with_odd_characters_is_named_in_the_answer():
    reply = parse_query("daily 09:00 Europe/Ber$lin")
    assert isinstance(reply, Invalid)
    assert reply.message.startswith("“Europe/Berlin” isn’t a time zone name.")


def test_a_word_with_a_slash_is_a_zone_never_days():
    assert not looks_like_days("Area/sat-sun")
    assert looks_like_days("sat-sun")


def test_a_days_error_says_its_word():
    assert str(DaysError("funday")) == "funday"
    assert DaysError("funday").word == "funday"


def test_the_corpus_gives_a_day_without_a_post_the_next_posts_maxim():
    corpus = load_corpus()
    saturday = corpus.for_day(SATURDAY, KEY, WEEKDAYS)
    assert saturday == corpus.for_day(MONDAY, KEY, WEEKDAYS)
    assert saturday != corpus.for_day(SATURDAY, KEY)


def test_today_and_its_card_follow_the_channels_days():
    corpus = load_corpus()
    monday = corpus.for_day(MONDAY, KEY, WEEKDAYS)
    for query in ("today", "card today"):
        reply = answer(
            query,
            corpus=corpus,
            today=SATURDAY,
            rng=random.Random(1),
            channel_key=KEY,
            days=WEEKDAYS,
        )
        assert reply.maxims == (monday,), query


def test_a_reply_carries_its_note_and_none_by_default():
    maxim = load_corpus().get(34)
    assert MaximReply((maxim,), "number").note == ""
    assert MaximReply((maxim,), "today", note="the next daily post here: Mon").note == (
        "the next daily post here: Mon"
    )
