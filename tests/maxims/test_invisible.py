"""Characters that show as nothing never reach an answer: not in a search, not in an echo."""

import datetime as dt
import random
import sys
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxims import TextReply, answer, load_corpus, safe_echo
from maxims.invisible import DEFAULT_IGNORABLE_RANGES, INVISIBLE
from maxims.search import words

HANGUL_FILLERS = ["\u3164", "\u115f", "\u1160", "\uffa0"]
# What the echo dropped before the rule was Unicode's, and a few more of each kind.
OTHERS = ["\u2800", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e"]
OTHERS += ["\u202e", "\u2066", "\u034f", "\ufe0f", "\U000e0041", "\U000e0100", "\u180e"]
# Format characters that are not default-ignorable (DerivedCoreProperties.txt's derivation):
# prepended concatenation marks, interlinear annotation, Egyptian hieroglyph format controls.
VISIBLE_FORMAT = {0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890}
VISIBLE_FORMAT |= {0x0891, 0x08E2, 0x110BD, 0x110CD, 0xFFF9, 0xFFFA, 0xFFFB}
VISIBLE_FORMAT |= set(range(0x13430, 0x13460))


def reply_to(text: str) -> str:
    reply = answer(
        f"search {text}", corpus=load_corpus(), today=dt.date(2026, 12, 5), rng=random.Random(1)
    )
    assert isinstance(reply, TextReply)
    return reply.text


@pytest.mark.parametrize("ch", HANGUL_FILLERS + OTHERS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_an_invisible_character_is_never_echoed(ch):
    assert words(f"zzqx{ch}yyqv{ch}") == ["zzqx", "yyqv"]
    if ch != "\ufeff":  # refused before the search, as a control character
        assert reply_to(f"{ch}zzqx{ch} {ch}") == (
            "No maxim matches “zzqx”. Try `/maxim list` to see them all."
        )
    assert ch not in reply_to(f"{ch}zzqx{ch} {ch}")
    assert safe_echo(f"{ch}a{ch}{ch}b{ch}") == "ab"
    assert safe_echo(ch * 3) == ""


@pytest.mark.parametrize("ch", HANGUL_FILLERS, ids=lambda ch: f"U+{ord(ch):04X}")
def test_hangul_fillers_are_letters_to_python_and_invisible_to_us(ch):
    assert ch.isalnum()  # why `isalnum` alone let them through
    assert ch in INVISIBLE


def test_every_format_character_but_the_visible_ones_is_invisible():
    """The format-character part of Unicode's derivation, from this Python's Unicode data."""
    missing = [
        f"U+{c:04X}"
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) == "Cf" and c not in VISIBLE_FORMAT
        if chr(c) not in INVISIBLE
    ]
    assert missing == []


def test_the_ranges_hold_only_what_shows_as_nothing():
    for first, last in DEFAULT_IGNORABLE_RANGES:
        assert first <= last
        for c in range(first, last + 1):
            assert unicodedata.category(chr(c)) in {"Cf", "Mn", "Lo", "Cn"}, f"U+{c:04X}"
            assert c not in VISIBLE_FORMAT
    assert "a" not in INVISIBLE and "한" not in INVISIBLE and " " not in INVISIBLE


LETTERS = st.sampled_from("abcxyzé한ö")
INVISIBLES = st.sampled_from(sorted(INVISIBLE))


@given(st.lists(st.one_of(LETTERS, INVISIBLES, st.just(" ")), min_size=1, max_size=30))
def test_no_search_or_echo_keeps_an_invisible_character(chars):
    text = "".join(chars)
    assert not INVISIBLE.intersection("".join(words(text)))
    assert not INVISIBLE.intersection(safe_echo(text))
