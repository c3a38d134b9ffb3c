"""Message triggers: decide whether a chat message deserves a maxim, and which one.

Rules are data (`Rule`): a name, what to look for, the tags to answer from and an optional
cooldown. The default rule is NaN, decided by `mentions_nan`:

* ``NaN``, ``NAN`` and ``NaNs`` (any mixed or upper case) always count: that spelling is the
  float, not a word. A capitalised ``Nan`` or ``Nans`` (only the first letter upper case) is
  a word or a name ("Nan is coming for tea", a sentence starting "Nans"), so it never counts.
* all-lowercase ``nan``/``nans`` counts only when it reads as code or ML talk: right after
  ``=``, ``:``, ``(``, ``[``, ``{`` or ``,``, right before ``,``, ``)``, ``]`` or ``}``, or in a
  message that also talks ML (loss, gradient, epoch, tensor, bf16, …). So "loss is nan" and
  "got nan after epoch 3" fire; "my nan is visiting" does not.
* it never counts inside a longer word or identifier (banana, Nancy, nano, finance, isnan,
  nanmean, np.nan) or inside a URL (``https://…``, ``www.…``, up to the next space).

Every message passes through here, so the common case (no "nan" at all) costs one
``str.lower`` and one substring test; the regular expressions only run on the rest. Only the
first `SCAN_LIMIT` characters are read, and the scan is linear in them whatever they hold:
each question (a float spelling? a lowercase nan in code? ML talk?) is asked once of the whole
message, by one regular expression that never backtracks over more than a run of spaces.
"""

from __future__ import annotations

import re

from maxims.model import Value

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Protocol

    from maxims.corpus import Corpus, Rng
    from maxims.model import Maxim

    class Searcher(Protocol):
        """A compiled pattern: RE2's, which ships no type information."""

        def search(self, text: str, /) -> object | None: ...  # noqa: D102


SCAN_LIMIT = 8192
"""How many characters of a message the NaN rule reads; the rest of a long paste is ignored."""

# A URL: a scheme (starting at the first letter of its run of scheme characters) and "://", or
# "www.", up to the next space, "<", ">" or "|". Scheme runs are matched only where they start
# (the lookbehind) and without backtracking (``*+``), so a long run costs one pass, not one per
# character; group 1 keeps the digits and signs before the first letter, which are not the URL.
_URL = re.compile(
    r"(?<![a-z0-9+.-])([0-9+.-]*+)[a-z][a-z0-9+.-]*+://[^\s<>|]+|www\.[^\s<>|]+", re.IGNORECASE
)
# Each question about the message is one pass of one expression over it, never a pass per
# candidate. Each expression starts with a plain character or set, which `re` skips to quickly,
# and only then looks behind. A word "nan" or "nans" in any case (not inside a word, not after
# a dot; most messages with "nan" in them have it only inside words) is
_NAN_WORD = re.compile(r"[nN](?<![\w.][nN])[aA][nN][sSſ]?(?!\w)")
_FLOAT_NAN = re.compile(  # the float when spelled in any case but "nan", "nans", "Nan", "Nans"
    r"[nN](?<![\w.][nN])(?!(?<=n)an[sſ]?(?!\w)|(?<=N)ans?(?!\w))[aA][nN][sSſ]?(?!\w)"
)
_LOWER_NAN = re.compile(r"nan(?<![\w.]nan)s?(?!\w)")  # lower case: counts as code or ML talk
_NAN_AFTER_CODE = re.compile(r"[=:(\[{,]\s*nans?(?!\w)")  # spaces between allowed
_NAN_BEFORE_CODE = re.compile(r"nan(?<![\w.]nan)s?\s*[,)\]}]")
_WORD = re.compile(r"[a-z]+")
_WORD_AND_NUMBER = re.compile(r"[a-z]+[0-9]+")  # float32, bf16
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


def talks_ml(text: str) -> bool:
    """Whether `text` has a word from `ML_WORDS` (loss, epoch, tensor, bf16, …)."""
    lowered = text.lower()
    return not (
        ML_WORDS.isdisjoint(_WORD.findall(lowered))
        and ML_WORDS.isdisjoint(_WORD_AND_NUMBER.findall(lowered))
    )


def mentions_nan(text: str) -> bool:
    """Whether `text` talks about NaN values (see the module docstring for the rule)."""
    text = text[:SCAN_LIMIT]
    lowered = text.lower()
    if "nan" not in lowered:
        return False
    if "://" in lowered or "www." in lowered:
        text = _URL.sub(r"\1 ", text)
    if _NAN_WORD.search(text) is None:
        return False
    if _FLOAT_NAN.search(text):
        return True
    if _LOWER_NAN.search(text) is None:
        return False
    return (
        _NAN_AFTER_CODE.search(text) is not None
        or _NAN_BEFORE_CODE.search(text) is not None
        or talks_ml(text)
    )


class Rule(Value):
    """A trigger: when `matches(text)`, answer with a maxim carrying one of `tags`."""

    __slots__ = ("name", "tags", "cooldown_seconds", "matches")
    name: str
    tags: tuple[str, ...]
    cooldown_seconds: float | None  # None: the engine's default
    matches: Callable[[str], bool]


NAN_RULE = Rule("nan", ("nan",), None, mentions_nan)


class PatternError(ValueError):
    """A trigger pattern the bot cannot run; the message says why, in words for a config file."""


def _compile(pattern: str) -> Searcher:
    """`pattern` compiled by RE2, case-insensitive.

    Raises:
        PatternError: RE2 cannot compile it.

    """
    import re2  # costs milliseconds: only when a configured rule needs it

    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False  # RE2 would print its own copy of the error to stderr
    try:
        compiled: Searcher = re2.compile(pattern, options=options)
    except re2.error as err:
        reason = err.args[0] if err.args else "unknown error"
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(
            f"{pattern!r} is not a pattern the bot can run ({reason}); patterns use RE2 syntax, "
            "which has no backreferences (\\1) or lookarounds ((?=...), (?<=...))"
        ) from None
    return compiled


def check_pattern(pattern: str) -> str | None:
    """Why `pattern` cannot be a trigger pattern, or None if it can (for config validation)."""
    try:
        _compile(pattern)
    except PatternError as err:
        return str(err)
    return None


def pattern_rule(
    name: str, pattern: str, tags: Sequence[str], cooldown_seconds: float | None = None
) -> Rule:
    """A rule from configuration: `pattern` is a case-insensitive regular expression.

    Patterns run on RE2, whose time is linear in the message whatever the pattern, so no
    pattern in a config file can stall the bot on a crafted message (``(a+)+$`` against
    ``aaaa…!`` takes Python's ``re`` exponential time). A pattern without regex syntax is
    matched as plain text, which is many times cheaper.

    Raises:
        PatternError: RE2 cannot compile the pattern (`check_pattern` says so beforehand).

    """
    if re.escape(pattern) == pattern or re.escape(pattern).replace("\\ ", " ") == pattern:
        needle = pattern.lower()

        def matches(text: str) -> bool:
            return needle in text.lower()

    else:
        compiled = _compile(pattern)

        def matches(text: str) -> bool:
            return compiled.search(text) is not None

    return Rule(name, tuple(tags), cooldown_seconds, matches)


def unknown_tags(tags: Iterable[str], corpus: Corpus) -> list[str]:
    """The tags in `tags` that no maxim carries, in order, each once (for config validation).

    `TriggerEngine` refuses a rule only when none of its tags is carried; a config check may
    well refuse any unknown tag, since it is most likely a typo.
    """
    known = {tag for maxim in corpus for tag in maxim.tags}
    return [tag for tag in dict.fromkeys(tags) if tag not in known]


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
        """The first rule that fires on `text`, or None.

        Every rule sees only the first `SCAN_LIMIT` characters, so no message costs more than
        that much scanning per rule, however long it is.
        """
        text = text[:SCAN_LIMIT]
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
