"""Word search over the corpus: case-insensitive, apostrophe-blind, tolerant of small typos.

No regular expressions here: ``re`` costs more to import than this whole module takes to run,
and `maxim search` is on a tight start-up budget.
"""

from __future__ import annotations

import math

from maxims.model import Maxim

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

_APOSTROPHES = "'’‘`ʼ"
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "do",
        "for",
        "from",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "this",
        "to",
        "was",
        "what",
        "when",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)

# How much a query word earns for each kind of match with a word of a maxim.
_EXACT, _PREFIX, _STEM, _TYPO = 1.0, 0.8, 0.7, 0.6


def words(text: str) -> list[str]:
    """Split `text` into lower-case words; typographic and straight apostrophes are one."""
    out: list[str] = []
    current: list[str] = []
    for ch in text.lower():
        if ch.isalnum():
            current.append(ch)
        elif ch in _APOSTROPHES and current:
            current.append("'")
        elif current:
            out.append("".join(current).strip("'"))
            current = []
    if current:
        out.append("".join(current).strip("'"))
    return [w for w in out if w]


def _variants(word: str) -> Iterable[str]:
    yield word
    if "'" in word:
        yield word.replace("'", "")  # "youre" finds "you’re"
        if word.endswith("'s"):
            yield word[:-2]  # "model" finds "model’s"


def within_distance(a: str, b: str, limit: int) -> bool:
    """Whether the Levenshtein distance of `a` and `b` is at most `limit` (banded, early exit)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        best = i
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            current[j] = value
            best = min(best, value)
        if best > limit:
            return False
        previous = current
    return previous[-1] <= limit


def _typo_limit(word: str) -> int:
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def match_weight(query_word: str, word: str) -> float:
    """How well one query word matches one word of a maxim (0 when it does not)."""
    if query_word == word:
        return _EXACT
    if len(query_word) >= 3 and word.startswith(query_word):
        return _PREFIX
    if len(word) >= 4 and query_word.startswith(word):
        return _STEM
    limit = _typo_limit(query_word)
    if limit and within_distance(query_word, word, limit):
        return _TYPO
    return 0.0


class SearchIndex:
    """Which maxims contain each word, with a rarity weight per word."""

    def __init__(self, maxims: Sequence[Maxim]) -> None:
        postings: dict[str, set[int]] = {}
        for maxim in maxims:
            tag_words = [w for tag in maxim.tags for w in words(tag)]
            for word in words(maxim.text) + tag_words:
                for variant in _variants(word):
                    postings.setdefault(variant, set()).add(maxim.number)
        self.postings = postings
        size = max(len(maxims), 1)
        self.weight = {w: math.log(1 + size / len(ns)) for w, ns in postings.items()}
        self.by_number = {m.number: m for m in maxims}
        # Autocomplete asks the same prefixes again and again, and "Another" re-runs searches.
        self._cache: dict[tuple[str, ...], list[Maxim]] = {}

    def search(self, query_words: Sequence[str]) -> list[Maxim]:
        """Maxims matching any query word, most query words matched first, then best score."""
        key = tuple(query_words)
        cached = self._cache.get(key)
        if cached is None:
            if len(self._cache) >= 512:
                self._cache.clear()
            cached = self._cache[key] = self._search(key)
        return list(cached)

    def _search(self, query_words: Sequence[str]) -> list[Maxim]:
        normalized = [w for query_word in query_words for w in words(query_word)]
        wanted = [w for w in normalized if w not in STOPWORDS] or normalized
        matched: dict[int, int] = {}
        score: dict[int, float] = {}
        for query_word in dict.fromkeys(wanted):
            best: dict[int, float] = {}
            for word, numbers in self.postings.items():
                weight = match_weight(query_word, word)
                if weight:
                    weight *= self.weight[word]
                    for number in numbers:
                        if weight > best.get(number, 0.0):
                            best[number] = weight
            for number, weight in best.items():
                matched[number] = matched.get(number, 0) + 1
                score[number] = score.get(number, 0.0) + weight
        ranked = sorted(score, key=lambda n: (-matched[n], -score[n], n))
        return [self.by_number[n] for n in ranked]

    def closest_word(self, query_words: Sequence[str]) -> str | None:
        """The corpus word closest to any of the query words, for a "did you mean" hint."""
        import difflib  # only on the nothing-found path

        vocabulary = [w for w in self.postings if w not in STOPWORDS and "'" not in w]
        for query_word in query_words:
            close = difflib.get_close_matches(query_word, vocabulary, n=1, cutoff=0.75)
            if close:
                return close[0]
        return None
