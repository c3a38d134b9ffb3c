"""The NaN rule and configurable trigger rules."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maxims import load_corpus
from maxims.triggers import NAN_RULE, TriggerEngine, mentions_nan, pattern_rule

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
