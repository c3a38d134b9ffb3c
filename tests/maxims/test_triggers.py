"""The NaN rule and configurable trigger rules."""

import random
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxims import load_corpus
from maxims.triggers import (
    ML_WORDS,
    NAN_RULE,
    SCAN_LIMIT,
    PatternError,
    TriggerEngine,
    check_pattern,
    mentions_nan,
    pattern_rule,
    unknown_tags,
)

FIRES = [
    "loss is NaN",
    "NaNs everywhere",
    "loss=nan",
    "loss = nan",
    "tensor([nan, 1.])",
    "got nan after epoch 3",
    "NAN",
    "my gradients went nan",
    "val loss: nan",
    "why is everything NaN??",
    "{'loss': nan}",
    "see https://example.com/docs and then the loss is NaN",
]
QUIET = [
    "banana",
    "Nancy",
    "nano",
    "finance",
    "my nan is visiting",
    "Nan is coming for tea",
    "https://example.com/NaN",
    "<https://example.com/nan|docs>",
    "www.nan.example.org",
    "use torch.isnan(x)",
    "np.nanmean(values)",
    "x = np.nan",
    "nanoseconds matter",
    "Ananas",
    "",
]


@pytest.mark.parametrize("text", FIRES)
def test_nan_talk_fires(text):
    assert mentions_nan(text)


@pytest.mark.parametrize("text", QUIET)
def test_other_nans_stay_quiet(text):
    assert not mentions_nan(text)


@given(st.text(max_size=200))
def test_mentions_nan_never_raises(text):
    mentions_nan(text)


def test_engine_picks_among_the_nan_maxims_and_varies():
    engine = TriggerEngine([NAN_RULE], load_corpus())
    rule = engine.match("loss is NaN")
    assert rule is NAN_RULE
    rng = random.Random(3)
    picks = {engine.pick(rule, rng).number for _ in range(50)}
    assert picks == {34, 40, 55}


def test_pick_avoids_the_last_answer():
    engine = TriggerEngine([NAN_RULE], load_corpus())
    rng = random.Random(1)
    assert all(engine.pick(NAN_RULE, rng, avoid=34).number != 34 for _ in range(30))


def test_plain_text_rules_match_case_insensitively():
    rule = pattern_rule("oom", "CUDA out of memory", ["compute"], 1800)
    engine = TriggerEngine([NAN_RULE, rule], load_corpus(), default_cooldown_seconds=600)
    assert engine.match("RuntimeError: cuda OUT OF MEMORY") is rule
    assert engine.cooldown_for(rule) == 1800
    assert engine.cooldown_for(NAN_RULE) == 600
    assert "compute" in engine.pick(rule, random.Random(0)).tags


def test_regex_rules_work():
    rule = pattern_rule("lr", r"learning[ -]rate", ["learning-rate"])
    assert rule.matches("what Learning-Rate?")
    assert not rule.matches("learning")


def test_rules_with_unknown_tags_are_refused():
    with pytest.raises(ValueError, match="nope"):
        TriggerEngine([pattern_rule("nope", "x", ["no-such-tag"])], load_corpus())


@pytest.mark.parametrize(
    "text",
    [
        "x = nan",  # after "=", with no ML word anywhere: the code context alone decides
        "x=nan",
        "x =\t nan",
        "x: nan",
        "print(nan)",
        "(nan",
        "[nan, 1]",
        "{nan",
        "a, nan",
        "nan, 1",  # before ",", ")", "]" or "}"
        "nan)",
        "a nan ]",
        "nan\t}",
        "x = nans",
        "[nans]",
        "x = https://example.com/x nan",  # a URL is as if it were not there
    ],
)
def test_lowercase_nan_in_code_fires_without_ml_words(text):
    assert mentions_nan(text)


@pytest.mark.parametrize(
    "text",
    [
        "Nans",  # capitalised: a word or a name, like "Nan"
        "Nans are coming for tea",
        "loss=Nan",
        "www.example.com/NaN",  # a URL without a scheme
        "see WWW.example.com/NaN",
        "http://x nan",
        "x = nan_value",
        "x = nana",
        "nan x",
        "nan .",
    ],
)
def test_words_names_and_urls_stay_quiet(text):
    assert not mentions_nan(text)


def test_engine_defaults_to_a_ten_minute_cooldown():
    engine = TriggerEngine([NAN_RULE], load_corpus())
    assert engine.cooldown_for(NAN_RULE) == 600
    assert engine.match("all fine") is None


def test_unknown_tags_are_named_in_the_error():
    rules = [pattern_rule("a", "x", ["no-such-tag"]), pattern_rule("b", "y", ["nope"])]
    with pytest.raises(ValueError, match=r"^no maxim carries the tags of rule\(s\): a, b$"):
        TriggerEngine(rules, load_corpus())


def test_pick_from_a_pool_of_one_or_two_still_avoids_when_it_can():
    corpus = load_corpus()
    one = pattern_rule("one", "x", ["tooling"])  # a single maxim carries it
    two = pattern_rule("two", "y", ["labels"])  # two maxims carry it
    engine = TriggerEngine([one, two], corpus)
    (only,) = corpus.tagged(["tooling"])
    assert engine.pick(one, random.Random(0), avoid=only.number) == only
    first, second = corpus.tagged(["labels"])
    rng = random.Random(0)
    assert {engine.pick(two, rng, avoid=first.number) for _ in range(20)} == {second}
    assert {engine.pick(two, rng).number for _ in range(40)} == {first.number, second.number}


# ------------------------------------------------------------------------------ long messages

HOSTILE = [  # 40,000 characters each, shaped to defeat every cheap path
    ("nan " * 10_000, False),  # a lowercase nan every four characters, no code, no ML
    ("Nan " * 10_000, False),  # capitalised: each one a candidate that does not count
    ("nan\n" * 10_000, False),
    ("xnan," * 8_000, False),  # inside words, next to code punctuation
    ("=   " * 10_000, False),  # code punctuation and spaces, no nan
    ("nan" + " " * 39_997, False),  # one nan and a long run of spaces after it
    (" " * 39_997 + "nan", False),  # beyond the cap
    ("a" * 39_993 + " ://nan", False),  # a long run of scheme characters
    ("http://x nan " * 3_076 + "x" * 12, False),
    ("www.nan " * 5_000, False),
    (".nan" * 10_000, False),
    ("nan " * 9_999 + "loss", False),  # the ML word is beyond the cap
    ("nan " * 2_000 + "loss" + " " * 31_996, True),
    ("nan " * 2_000 + "x=nan" + " " * 31_995, True),
]


@pytest.mark.parametrize(("text", "fires"), HOSTILE, ids=range(len(HOSTILE)))
def test_a_long_hostile_message_is_decided(text, fires):
    assert len(text) == 40_000
    assert mentions_nan(text) is fires


def test_text_beyond_the_scan_limit_is_ignored():
    assert SCAN_LIMIT == 8192
    assert mentions_nan("x" * (SCAN_LIMIT - 4) + " NaN")
    assert not mentions_nan("x" * (SCAN_LIMIT - 3) + " NaN")
    assert not mentions_nan("x" * SCAN_LIMIT + " NaN")
    assert not mentions_nan("nan " * (SCAN_LIMIT // 4) + "loss")


def test_a_url_is_cut_out_from_the_first_letter_of_its_scheme():
    assert mentions_nan("=http://x.org nan")  # as if the URL were a space
    assert not mentions_nan("=1http://x.org nan")  # the "1" is not the URL: it stays
    assert not mentions_nan("1http://x.org/NaN")


@pytest.mark.parametrize("word", sorted(ML_WORDS))
def test_every_ml_word_makes_a_lowercase_nan_count(word):
    assert mentions_nan(f"the {word} went nan")
    assert mentions_nan(f"{word.upper()}: went nan")
    assert not mentions_nan(f"the x{word} went nan")


def test_ml_words_count_before_numbers_too():
    assert mentions_nan("loss2 went nan")
    assert mentions_nan("fp16 went nan after bf16x")
    assert not mentions_nan("the v2 went nan")


# ------------------------------------------------------------------------------ config rules


def test_a_catastrophic_pattern_runs_in_linear_time():
    rule = pattern_rule("redos", r"(a+)+$", ["nan"])  # Python's re takes ages on this one
    assert not rule.matches("a" * 5000 + "!")
    assert rule.matches("xaaa")
    assert rule.matches("AAA")  # case-insensitive


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence: \\1"),
        (r"(?<=a)b", "invalid perl operator: (?<="),
        ("(a", "missing ): (a"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_with_the_reason(pattern, reason):
    message = check_pattern(pattern)
    assert message == (
        f"{pattern!r} is not a pattern the bot can run ({reason}); patterns use RE2 syntax, "
        "which has no backreferences (\\1) or lookarounds ((?=...), (?<=...))"
    )
    with pytest.raises(PatternError) as caught:
        pattern_rule("bad", pattern, ["nan"])
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("pattern", ["CUDA out of memory", r"learning[ -]rate", r"\bOOM\b", "a|b"])
def test_good_patterns_pass_the_check(pattern):
    assert check_pattern(pattern) is None


@pytest.mark.parametrize("pattern", ["out of memory", "(out of memory)"])
def test_plain_text_and_regex_rules_agree(pattern):
    rule = pattern_rule("oom", pattern, ["compute"])
    assert rule.matches("CUDA OUT OF MEMORY")
    assert not rule.matches("out of mem")


@pytest.mark.child_process
def test_re2_is_imported_only_by_a_regex_rule():
    code = (
        "import sys; from maxims.triggers import mentions_nan, pattern_rule; "
        "mentions_nan('loss is NaN'); pattern_rule('a', 'plain text', ['x']); "
        "print('re2' in sys.modules, end=' '); pattern_rule('b', 'a|b', ['x']); "
        "print('re2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False True"
    assert out.stderr == ""


def test_unknown_tags_lists_the_tags_no_maxim_carries():
    corpus = load_corpus()
    assert unknown_tags(["nan", "no-such-tag", "compute", "nope", "no-such-tag"], corpus) == [
        "no-such-tag",
        "nope",
    ]
    assert unknown_tags(["nan"], corpus) == []
    assert unknown_tags((), corpus) == []


def test_every_rule_sees_only_the_first_scan_limit_characters():
    engine = TriggerEngine([pattern_rule("oom", "out of memory", ("compute",))], load_corpus())
    assert engine.match("x" * (SCAN_LIMIT - 14) + "out of memory") is not None
    assert engine.match("x" * SCAN_LIMIT + "out of memory") is None


def test_a_refused_pattern_prints_nothing(capfd):
    assert check_pattern("(a") is not None
    assert capfd.readouterr().err == ""
