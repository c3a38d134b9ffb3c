"""The corpus: the seventy maxims, loaded once from package data and validated as a whole.

The data file is read with ``open`` next to this module rather than ``importlib.resources``
or ``tomllib``: each of those costs more to import than the ``maxim`` command may spend in
total. Loading is the only I/O the core does.
"""

from __future__ import annotations

import os

from maxims.daily import number_for_day
from maxims.errors import CorpusError
from maxims.model import Maxim
from maxims.weekdays import EVERY_DAY

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from collections.abc import Iterator, Sequence
    from typing import Protocol

    from maxims.search import SearchIndex

    class Rng(Protocol):
        """Anything with ``randrange``: ``random.Random``, or the CLI's urandom source."""

        def randrange(self, stop: int, /) -> int: ...  # noqa: D102


DATA_FILE = os.path.join(os.path.dirname(__file__), "data", "maxims.tsv")
MAX_TEXT_LENGTH = 2000


class Corpus:
    """An ordered, validated collection of maxims numbered 1..N."""

    def __init__(self, maxims: Sequence[Maxim]) -> None:
        problems = validate(maxims)
        if problems:
            raise CorpusError("The maxim corpus is broken: " + "; ".join(problems))
        self.maxims: tuple[Maxim, ...] = tuple(maxims)
        self._index: SearchIndex | None = None

    def __len__(self) -> int:
        return len(self.maxims)

    def __iter__(self) -> Iterator[Maxim]:
        return iter(self.maxims)

    def get(self, number: int) -> Maxim | None:
        """Maxim `number`, or None if there is no such maxim."""
        if 1 <= number <= len(self.maxims):
            return self.maxims[number - 1]
        return None

    def random(self, rng: Rng) -> Maxim:
        """A maxim chosen by `rng`."""
        return self.maxims[rng.randrange(len(self.maxims))]

    def tagged(self, tags: Sequence[str]) -> tuple[Maxim, ...]:
        """The maxims carrying any of `tags`, in corpus order."""
        wanted = set(tags)
        return tuple(m for m in self.maxims if wanted.intersection(m.tags))

    def for_day(self, day: datetime.date, channel_key: str = "", days: int = EVERY_DAY) -> Maxim:
        """The maxim of the day for a channel; the same in every process, no state needed.

        `days` is the channel's weekday mask (`maxims.weekdays`): the rotation counts posts.
        """
        return self.maxims[number_for_day(day, channel_key, len(self.maxims), days) - 1]

    @property
    def index(self) -> SearchIndex:
        """The word index, built on first use (searching is rarer than looking up numbers)."""
        if self._index is None:
            from maxims.search import SearchIndex

            self._index = SearchIndex(self.maxims)
        return self._index

    def search(self, query_words: Sequence[str]) -> list[Maxim]:
        """Maxims matching the words, best first (see `maxims.search`)."""
        return self.index.search(query_words)


def validate(maxims: Sequence[Maxim]) -> list[str]:
    """Every problem with a sequence of maxims, so that one run reports them all."""
    problems: list[str] = []
    for position, maxim in enumerate(maxims, 1):
        if maxim.number != position:
            problems.append(f"entry {position} is numbered {maxim.number}")
        if not maxim.text.strip():
            problems.append(f"maxim {maxim.number} is empty")
        if len(maxim.text) > MAX_TEXT_LENGTH:
            problems.append(f"maxim {maxim.number} is over {MAX_TEXT_LENGTH} characters")
    if not maxims:
        problems.append("there are no maxims")
    return problems


def parse_corpus(text: str) -> list[Maxim]:
    """Read the TSV data format: ``number<TAB>tags<TAB>text``; ``#`` lines are comments."""
    maxims: list[Maxim] = []
    problems: list[str] = []
    for line_number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0].isdigit():
            problems.append(f"line {line_number} is not number<TAB>tags<TAB>text")
            continue
        tags = tuple(t.strip() for t in parts[1].split(",") if t.strip())
        maxims.append(Maxim(int(parts[0]), parts[2].strip(), tags))
    if problems:
        raise CorpusError("The maxim corpus is broken: " + "; ".join(problems))
    return maxims


_loaded: Corpus | None = None


def load_corpus() -> Corpus:
    """The packaged corpus, read and validated once per process."""
    global _loaded
    if _loaded is None:
        with open(DATA_FILE, encoding="utf-8") as handle:
            _loaded = Corpus(parse_corpus(handle.read()))
    return _loaded
