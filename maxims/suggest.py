"""Autocomplete suggestions for the query grammar and for time zone names.

Each suggestion is a (name, value) pair: the name is what the person sees, the value what
the query becomes when they pick it. Platforms that offer autocomplete (Discord) turn the
pairs into their own choice objects. The keywords and their wording come from `HELP`, the one
place the commands are described.

The core must not import any chat SDK, the network, the clock or the environment. The only
data read here is the list of time zone names the interpreter ships (``zoneinfo``), read on the
first zone suggestion and kept.
"""

from __future__ import annotations

from maxims.query import Search, parse_query
from maxims.reply import HELP
from maxims.weekdays import DAY_NAMES, DaysError, describe_days, parse_days

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from maxims.corpus import Corpus
    from maxims.model import Maxim

CHOICES_LIMIT = 25  # Discord shows at most 25 autocomplete choices
NAME_LENGTH = 100  # and cuts each name at 100 characters

KEYWORDS = tuple((line.keyword, line.what.replace("`", "")) for line in HELP if line.keyword)
# `daily` changes a setting rather than showing a maxim: offered once typed, not up front.
_OFFERED_UP_FRONT = tuple(pair for pair in KEYWORDS if pair[0] != "daily")
_NOT_SEARCHES = frozenset(keyword for keyword, _ in KEYWORDS)
_CARD = "card "
_CARD_KEYWORDS = frozenset(("today", "random"))  # the keywords that choose one maxim

COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)
_zones: tuple[str, ...] | None = None
# The days teams ask for most (issue 19), each as the name shown and the value it becomes.
COMMON_DAYS = (
    ("every day", "every day"),
    ("weekdays (mon-fri)", "weekdays"),
    ("mon-fri", "mon-fri"),
    ("mon,wed,fri", "mon,wed,fri"),
    ("tue,thu", "tue,thu"),
    ("sat,sun (the weekend)", "sat,sun"),
    ("mon-thu", "mon-thu"),
    ("sun-thu", "sun-thu"),
)


def maxim_choice(maxim: Maxim, name_length: int = NAME_LENGTH) -> tuple[str, str]:
    """A maxim as a suggestion: ``34 · If you’re seeing NaN…`` cut to `name_length`, and 34."""
    prefix = f"{maxim.number} · "
    return prefix + maxim.preview(name_length - len(prefix)), str(maxim.number)


def suggest_queries(
    corpus: Corpus, current: str, *, limit: int = CHOICES_LIMIT, name_length: int = NAME_LENGTH
) -> list[tuple[str, str]]:
    """Suggestions for a query being typed: at most `limit` (name, value) pairs.

    Empty: the keywords, then the maxims in order. Otherwise the keywords that start with what
    was typed; then for a number (``3``, ``#3``), that maxim and those whose number starts with
    it; for anything but a keyword, the search results, typos forgiven. After ``card``, the
    same for the maxim to draw (``card 34``, ``card today``).
    """
    text = current.strip()
    lowered = text.lower()
    if lowered.startswith(_CARD):
        return _suggest_cards(corpus, text[len(_CARD) :], limit, name_length)
    offered = KEYWORDS if text else _OFFERED_UP_FRONT
    found = {  # value -> name, in order
        keyword: f"{keyword} · {what}"[:name_length]
        for keyword, what in offered
        if keyword.startswith(lowered)
    }
    digits = lowered.removeprefix("#")
    matches: list[Maxim]
    if not text:
        matches = list(corpus)
    elif digits.isdigit() and digits.isascii():
        exact = corpus.get(int(digits[:6]))
        matches = [exact] if exact is not None else []
        matches += [m for m in corpus if str(m.number).startswith(digits) and m is not exact]
    elif lowered.split()[0] in _NOT_SEARCHES:
        matches = []
    else:
        query = parse_query(text)
        matches = corpus.search(query.words) if isinstance(query, Search) else []
    for maxim in matches:
        if len(found) >= limit:
            break
        name, value = maxim_choice(maxim, name_length)
        found.setdefault(value, name)
    return [(name, value) for value, name in list(found.items())[:limit]]


def _suggest_cards(
    corpus: Corpus, rest: str, limit: int, name_length: int
) -> list[tuple[str, str]]:
    """``card ...``: the suggestions for `rest` that choose one maxim, each made a card."""
    found = suggest_queries(corpus, rest, limit=limit, name_length=name_length - len(_CARD))
    return [
        (_CARD + name, _CARD + value)
        for name, value in found
        if value.isdigit() or value in _CARD_KEYWORDS
    ]


def available_zones() -> tuple[str, ...]:
    """The IANA zone names with an area (``Europe/Berlin``), plus ``UTC``, sorted; read once."""
    global _zones
    if _zones is None:
        import zoneinfo  # only when a zone is asked for: it reads the zone database

        names = zoneinfo.available_timezones()
        _zones = tuple(
            sorted({z for z in names if "/" in z and not z.startswith("Etc/")} | {"UTC"})
        )
    return _zones


def suggest_zones(
    current: str, *, limit: int = CHOICES_LIMIT, zones: Sequence[str] | None = None
) -> list[tuple[str, str]]:
    """Zone names for what was typed: those starting with it, then cities, then the rest.

    Spaces count as underscores (``new york`` finds ``America/New_York``); nothing typed gives
    the common zones. `zones` defaults to `available_zones()`.
    """
    wanted = "_".join(current.strip().split()).lower()
    if not wanted:
        return [(zone, zone) for zone in COMMON_ZONES[:limit]]
    names = available_zones() if zones is None else zones
    ranked = [z for z in names if z.lower().startswith(wanted)]
    ranked += [z for z in names if z.rsplit("/", 1)[-1].lower().startswith(wanted)]
    ranked += [z for z in names if wanted in z.lower()]
    return [(zone, zone) for zone in list(dict.fromkeys(ranked))[:limit]]


def suggest_days(current: str, *, limit: int = CHOICES_LIMIT) -> list[tuple[str, str]]:
    """Days for what was typed: its own reading, the day being typed completed, common days.

    ``mon,w`` offers ``mon,wed``; ``tue-t`` offers ``tue-thu``; nothing typed offers
    `COMMON_DAYS`. Every value reads back as days, most in their canonical form.
    """
    typed = ",".join(current.lower().replace(",", " ").split())
    found = [(value, value) for value in _days_of(" ".join(current.lower().split()))]
    head, _, tail = typed.rpartition(",")
    start, dash, end = tail.rpartition("-")
    for name in DAY_NAMES if end else ():
        if name.startswith(end) and name not in (end, start):
            whole = ",".join(p for p in (head, f"{start}{dash}{name}") if p)
            found += [(whole, value) for value in _days_of(whole)]
    found += [(name, value) for name, value in COMMON_DAYS if value.startswith(typed)]
    found += [(name, value) for name, value in COMMON_DAYS if typed in name]
    return [(name[:NAME_LENGTH], value) for name, value in dict.fromkeys(found)][:limit]


def _days_of(text: str) -> list[str]:
    """``[canonical form]`` of `text` when it reads as days, else nothing."""
    try:
        return [describe_days(parse_days(text))] if text else []
    except DaysError:
        return []
