"""The value types: immutable, compared by type and fields, and the preview of a maxim."""

import pytest

from maxims import load_corpus
from maxims.model import Maxim
from maxims.query import ByNumber, DailySet, RandomMaxim, Today
from maxims.reply import TextReply


def test_values_compare_by_type_and_fields():
    assert ByNumber(3) == ByNumber(3)
    assert ByNumber(3) != ByNumber(4)
    assert RandomMaxim() != Today()  # no fields on either side: the type alone tells them apart
    assert ByNumber(3) != 3


def test_values_hash_by_type_and_fields():
    assert hash(ByNumber(3)) == hash(ByNumber(3))
    assert hash(ByNumber(3)) != hash(ByNumber(4))
    assert hash(RandomMaxim()) != hash(Today())
    assert len({ByNumber(3), ByNumber(3), ByNumber(4), RandomMaxim(), Today()}) == 4


@pytest.mark.parametrize(
    ("value", "same", "other"),
    [
        (ByNumber(3), ByNumber(3), ByNumber(4)),  # one field
        (TextReply("a", "help"), TextReply("a", "help"), TextReply("a", "error")),  # two
        (DailySet(9, 5, "UTC"), DailySet(9, 5, "UTC"), DailySet(9, 5, "Europe/Berlin")),  # three
    ],
)
def test_every_field_counts_whatever_their_number(value, same, other):
    # The last field differs: a value that read fewer fields than it has would call them equal.
    assert value == same and hash(value) == hash(same)
    assert value != other
    assert value._fields() == tuple(getattr(value, name) for name in value.__slots__)


def test_maxims_hash_by_number_and_still_compare_by_every_field():
    assert hash(Maxim(7, "a", ["x"])) == hash(Maxim(7, "a", ["x"]))
    assert hash(Maxim(7, "a")) != hash(Maxim(8, "a"))  # not one hash for all: dicts stay fast
    assert Maxim(7, "a") != Maxim(7, "b")  # a shared hash is not equality
    assert len({Maxim(7, "a"), Maxim(7, "a"), Maxim(7, "b"), Maxim(8, "a")}) == 3


def test_values_repr_names_every_field():
    assert repr(DailySet(9, 5, "Europe/Berlin", "card")) == (
        "DailySet(hour=9, minute=5, timezone='Europe/Berlin', style='card', days=None, thread=None)"
    )
    assert repr(Today()) == "Today()"


def test_values_are_immutable():
    value = ByNumber(3)
    with pytest.raises(AttributeError, match="ByNumber is immutable"):
        value.number = 4


@pytest.mark.parametrize("args", [(), (1, 2)])
def test_values_need_exactly_their_fields(args):
    with pytest.raises(ValueError, match="zip"):
        ByNumber(*args)


def test_maxim_tags_are_a_tuple():
    assert Maxim(1, "text", ["a", "b"]).tags == ("a", "b")
    assert Maxim(1, "text").tags == ()


@pytest.mark.parametrize(
    ("text", "width", "preview"),
    [
        ("abcde", 5, "abcde"),  # exactly the width: whole
        ("abcdefghijklmnop", 10, "abcdefghi…"),  # no space: cut mid-word, 10 in all
        ("aaaaaa bb cc dddddddd", 13, "aaaaaa bb…"),  # at the last space
        ("aaaaaa bbbbbbbbbb", 12, "aaaaaa bbbb…"),  # a space at half the width is too early
        ("aaaaa bbbbbbbbbb", 12, "aaaaa bbbbb…"),
        ("aaaa bbbb, cccc dddd", 12, "aaaa bbbb…"),  # no dangling comma
        ("ab cdefghijX lmnop", 13, "ab cdefghijX…"),  # letters are never stripped
    ],
)
def test_preview_cuts_at_a_late_word_boundary(text, width, preview):
    assert Maxim(1, text).preview(width) == preview


def test_preview_defaults_to_sixty_characters():
    maxim = load_corpus().get(19)
    assert maxim.preview() == "The field advances when you turn competitors into…"
    short = Maxim(1, "x" * 60)
    assert short.preview() == short.text
    assert Maxim(1, "x" * 61).preview() == "x" * 59 + "…"
