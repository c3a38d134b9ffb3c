"""Word search over the corpus: case-insensitive, apostrophe-blind, tolerant of small typos.

No regular expressions here: ``re`` costs more to import than this whole module takes to run,
and `maxim search` is on a tight start-up budget. For the same reason rapidfuzz, which measures
typos (Levenshtein distance in C, given up past the limit), is imported only by a search that
could have a typo match, never by ``import maxims``.

A search costs about the same whatever is typed: only the first `MAX_QUERY_WORDS` distinct words
count, each cut to `MAX_WORD_LENGTH` characters (no corpus word is that long), and each is
compared only with the corpus words it could match: its prefixes, the words it starts (a sorted
list and `bisect`), and for typos the words of a near length whose letters are near enough.
"""

from __future__ import annotations

import math

from maxims.invisible import INVISIBLE
from maxims.model import Maxim

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Container, Iterable, Sequence

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
MAX_QUERY_WORDS = 8
MAX_WORD_LENGTH = 32
_HINT_CUTOFF = 0.75  # how close (difflib's ratio) a word must be to be offered as "did you mean"


def words(text: str) -> list[str]:
    """Split `text` into lower-case words; typographic and straight apostrophes are one.

    Letters that show as nothing (`maxims.invisible`, such as the Hangul fillers) separate
    words like any other non-letter, so no word is invisible or hides one.
    """
    out: list[str] = []
    current: list[str] = []
    for ch in text.lower():
        if ch.isalnum() and ch not in INVISIBLE:
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
    """Whether the Levenshtein distance of `a` and `b` is at most `limit`."""
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b, score_cutoff=limit) <= limit


def _letters(word: str) -> int:
    """The letters of `word` as a bit set: one bit per letter and occurrence (1st, 2nd, 3rd+).

    Between two words, the bits only one of them has count the letters an edit would have to
    add or remove, so more than `limit` on either side rules a typo out. Letters that share
    bits (``ord & 31``) only make the test let more through, never fewer.
    """
    bits = 0
    seen: dict[str, int] = {}
    for ch in word:
        occurrence = seen[ch] = seen.get(ch, -1) + 1
        bits |= 1 << ((ord(ch) & 31) * 4 + min(occurrence, 3))
    return bits


def _within(query_word: str, candidates: Sequence[str], limit: int) -> list[str]:
    """The candidates at most `limit` edits from `query_word`."""
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    close = process.extract(
        query_word, candidates, scorer=Levenshtein.distance, score_cutoff=limit, limit=None
    )
    return [word for word, _, _ in close]


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
        self._sorted = sorted(postings)
        self._letters: dict[int, list[tuple[str, int]]] = {}  # by length, filled when asked
        self._hint_words: list[str] | None = None  # for "did you mean", filled when asked
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

    def matches(self, query_word: str) -> dict[str, float]:
        """Every corpus word `query_word` matches, with that match's weight (see `match_weight`).

        The same as `match_weight` over the whole vocabulary, but it visits only the words that
        can match, strongest kind first: a word keeps the best way it matches.
        """
        from bisect import bisect_left  # here, not at the top: `maxim 42` never needs it

        found: dict[str, float] = {}
        if query_word in self.postings:
            found[query_word] = _EXACT
        if len(query_word) >= 3:
            at = bisect_left(self._sorted, query_word)
            while at < len(self._sorted) and self._sorted[at].startswith(query_word):
                found.setdefault(self._sorted[at], _PREFIX)
                at += 1
        for end in range(len(query_word), 3, -1):
            if query_word[:end] in self.postings:
                found.setdefault(query_word[:end], _STEM)
        limit = _typo_limit(query_word)
        if limit:
            for word in self._typos(query_word, limit, exclude=found):
                found[word] = _TYPO
        return found

    def _typos(self, query_word: str, limit: int, exclude: Container[str]) -> list[str]:
        """The corpus words (but `exclude`) at most `limit` edits from `query_word`.

        rapidfuzz measures only the words whose letters could be that close: an edit adds at
        most one letter and removes at most one (`_letters`). Most searches leave none, and
        then never import rapidfuzz, which takes longer than the whole `maxim` command may.
        """
        letters = _letters(query_word)
        candidates = [
            word
            for length in range(len(query_word) - limit, len(query_word) + limit + 1)
            for word, word_letters in self._letters_of_length(length)
            if (letters & ~word_letters).bit_count() <= limit
            and (word_letters & ~letters).bit_count() <= limit
            and word not in exclude
        ]
        return _within(query_word, candidates, limit) if candidates else []

    def _letters_of_length(self, length: int) -> list[tuple[str, int]]:
        found = self._letters.get(length)
        if found is None:
            words_ = [w for w in self._sorted if len(w) == length]
            found = self._letters[length] = [(w, _letters(w)) for w in words_]
        return found

    def _search(self, query_words: Sequence[str]) -> list[Maxim]:
        normalized = [w[:MAX_WORD_LENGTH] for query_word in query_words for w in words(query_word)]
        wanted = [w for w in normalized if w not in STOPWORDS] or normalized
        matched: dict[int, int] = {}
        score: dict[int, float] = {}
        for query_word in list(dict.fromkeys(wanted))[:MAX_QUERY_WORDS]:
            best: dict[int, float] = {}
            for word, weight in self.matches(query_word).items():
                weight *= self.weight[word]
                for number in self.postings[word]:
                    if weight > best.get(number, 0.0):
                        best[number] = weight
            for number, weight in best.items():
                matched[number] = matched.get(number, 0) + 1
                score[number] = score.get(number, 0.0) + weight
        ranked = sorted(score, key=lambda n: (-matched[n], -score[n], n))
        return [self.by_number[n] for n in ranked]

    def closest_word(self, query_words: Sequence[str]) -> str | None:
        """The corpus word closest to any of the query words, for a "did you mean" hint.

        Closeness is difflib's ratio. It never exceeds rapidfuzz's `fuzz.ratio` (difflib's
        matching blocks are one common subsequence, rapidfuzz counts the longest), so rapidfuzz
        first picks the few words that could pass, in C, and difflib judges only those.
        """
        import difflib  # only on the nothing-found path

        from rapidfuzz import fuzz, process

        if self._hint_words is None:
            self._hint_words = [w for w in self.postings if w not in STOPWORDS and "'" not in w]
        floor = _HINT_CUTOFF * 100 - 1  # 1 below: a float rounding must not drop a word
        for query_word in list(query_words)[:MAX_QUERY_WORDS]:
            query_word = query_word[:MAX_WORD_LENGTH]
            possible = process.extract(
                query_word, self._hint_words, scorer=fuzz.ratio, score_cutoff=floor, limit=None
            )
            if possible:
                choices = [word for word, _, _ in possible]
                close = difflib.get_close_matches(query_word, choices, n=1, cutoff=_HINT_CUTOFF)
                if close:
                    return close[0]
        return None
