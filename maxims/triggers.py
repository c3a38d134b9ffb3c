"""Message triggers: decide whether a chat message deserves a maxim, and which one.

Rules are data (`Rule`): a name, what to look for, the tags to answer from and an optional
cooldown. The default rule is NaN, decided by `mentions_nan`:

* ``NaN``, ``NAN`` and ``NaNs`` (any case but all-lowercase) always count: that spelling is
  the float, not a word.
* all-lowercase ``nan``/``nans`` counts only when it reads as code or ML talk: right after
  ``=``, ``:``, ``(``, ``[``, ``{`` or ``,``, right before ``,``, ``)``, ``]`` or ``}``, or in a
  message that also talks ML (loss, gradient, epoch, tensor, …). So "loss is nan" and
  "got nan after epoch 3" fire; "my nan is visiting" does not.
* it never counts inside a longer word or identifier (banana, Nancy, nano, finance, isnan,
  nanmean, np.nan) or inside a URL.

Every message passes through here, so the common case (no "nan" at all) costs one
``str.lower`` and one substring test; the regular expressions only run on the rest.
"""

from __future__ import annotations

import re

from maxims.model import Value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from maxims.corpus import Corpus, Rng
    from maxims.model import Maxim

_URL = re.compile(r"(?:[a-z][a-z0-9+.-]*://|www\.)[^\s<>|]+", re.IGNORECASE)
_NAN = re.compile(r"(?<![\w.])nan(s?)(?!\w)", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+")
_CODE_BEFORE = frozenset("=:([{,")
_CODE_AFTER = frozenset(",)]}")
ML_WORDS = frozenset(
    [
        "loss",
        "losses",
        "grad",
        "grads",
        "gradient",
        "gradients",
        "tensor",
        "tensors",
        "epoch",
        "epochs",
        "step",
        "steps",
        "batch",
        "batches",
        "weight",
        "weights",
        "logit",
        "logits",
        "output",
        "outputs",
        "activation",
        "activations",
        "layer",
        "layers",
        "optimizer",
        "lr",
        "learning",
        "training",
        "train",
        "val",
        "validation",
        "metric",
        "metrics",
        "accuracy",
        "model",
        "models",
        "float",
        "float32",
        "float16",
        "bf16",
        "fp16",
        "numpy",
        "torch",
        "np",
        "inf",
        "infs",
        "nans",
        "values",
        "value",
        "backward",
        "forward",
        "backprop",
        "predictions",
        "prediction",
        "overflow",
        "underflow",
    ]
)


def _lowercase_nan_counts(text: str, start: int, end: int) -> bool:
    before = text[:start].rstrip()[-1:]
    after = text[end:].lstrip()[:1]
    if before in _CODE_BEFORE or after in _CODE_AFTER:
        return True
    return not ML_WORDS.isdisjoint(_WORD.findall(text.lower()))


def mentions_nan(text: str) -> bool:
    """Whether `text` talks about NaN values (see the module docstring for the rule)."""
    lowered = text.lower()
    if "nan" not in lowered:
        return False
    if "://" in lowered or "www." in lowered:
        text = _URL.sub(" ", text)
    for match in _NAN.finditer(text):
        word = match.group(0)
        if word != word.lower() and word not in ("Nan", "Nans"):
            return True  # NaN, NAN, NaNs: the float's spelling
        if word in ("nan", "nans") and _lowercase_nan_counts(text, match.start(), match.end()):
            return True
    return False


class Rule(Value):
    """A trigger: when `matches(text)`, answer with a maxim carrying one of `tags`."""

    __slots__ = ("name", "tags", "cooldown_seconds", "matches")
    name: str
    tags: tuple[str, ...]
    cooldown_seconds: float | None  # None: the engine's default
    matches: Callable[[str], bool]


NAN_RULE = Rule("nan", ("nan",), None, mentions_nan)


def pattern_rule(
    name: str, pattern: str, tags: Sequence[str], cooldown_seconds: float | None = None
) -> Rule:
    """A rule from configuration: `pattern` is a case-insensitive regular expression.

    A pattern without regex syntax is matched as plain text, which is many times cheaper.

    Raises:
        re.error: the pattern does not compile (the config layer reports it by key).

    """
    if re.escape(pattern) == pattern or re.escape(pattern).replace("\\ ", " ") == pattern:
        needle = pattern.lower()

        def matches(text: str) -> bool:
            return needle in text.lower()

    else:
        compiled = re.compile(pattern, re.IGNORECASE)

        def matches(text: str) -> bool:
            return compiled.search(text) is not None

    return Rule(name, tuple(tags), cooldown_seconds, matches)


class TriggerEngine:
    """The rules in order; the first that matches a message wins."""

    def __init__(
        self, rules: Sequence[Rule], corpus: Corpus, default_cooldown_seconds: float = 600.0
    ) -> None:
        self.rules = tuple(rules)
        self.default_cooldown_seconds = default_cooldown_seconds
        self._pool = {rule.name: corpus.tagged(rule.tags) for rule in self.rules}
        empty = [rule.name for rule in self.rules if not self._pool[rule.name]]
        if empty:
            raise ValueError(f"no maxim carries the tags of rule(s): {', '.join(empty)}")

    def match(self, text: str) -> Rule | None:
        """The first rule that fires on `text`, or None."""
        for rule in self.rules:
            if rule.matches(text):
                return rule
        return None

    def cooldown_for(self, rule: Rule) -> float:
        """Seconds between two answers of `rule` in one channel."""
        if rule.cooldown_seconds is None:
            return self.default_cooldown_seconds
        return rule.cooldown_seconds

    def pick(self, rule: Rule, rng: Rng, avoid: int | None = None) -> Maxim:
        """A maxim for `rule`, at random among its tags, not `avoid` (the last one) if possible."""
        pool = self._pool[rule.name]
        if avoid is not None and len(pool) > 1:
            pool = tuple(m for m in pool if m.number != avoid)
        return pool[rng.randrange(len(pool))]
