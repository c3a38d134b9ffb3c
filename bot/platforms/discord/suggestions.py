"""Autocomplete for `/maxim query` and `/maxim-daily zone`: (name, value) pairs, at most 25.

Kept together in this one module on purpose: the core is growing `maxims.suggest`
(`suggest_queries(corpus, current)`, `suggest_zones(current)`), and these two functions are to
be swapped for it in one place. Until then `suggest_queries` reads the service's corpus.
"""

from __future__ import annotations

import functools
import zoneinfo
from typing import TYPE_CHECKING

from maxims import Maxim, parse_query
from maxims.query import Search

if TYPE_CHECKING:
    from bot.chat import ChatService

CHOICES_LIMIT = 25  # Discord shows at most 25 autocomplete choices
CHOICE_LENGTH = 100  # and refuses longer names or values
_KEYWORDS = (  # offered as they are typed; the first four also for an empty query
    ("random", "a random maxim"),
    ("today", "today’s maxim of the day"),
    ("list", "every maxim, numbered"),
    ("help", "how to use /maxim"),
    ("daily", "this channel’s daily post (daily HH:MM Area/City, daily off)"),
)
_WORDS_THAT_ARE_NOT_SEARCHES = frozenset(keyword for keyword, _ in _KEYWORDS)
_COMMON_ZONES = (
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


def _maxim_choice(maxim: Maxim) -> tuple[str, str]:
    prefix = f"{maxim.number} · "
    return prefix + maxim.preview(CHOICE_LENGTH - len(prefix)), str(maxim.number)


def suggest_queries(service: ChatService, current: str) -> list[tuple[str, str]]:
    """Autocomplete for `/maxim query`: (name, value) pairs, at most 25.

    Keywords that start with what was typed; for a number, that maxim and those whose number
    starts with it; otherwise the search results (typos forgiven by the core's search).
    """
    corpus = service.corpus
    text = current.strip()
    lowered = text.lower()
    found: dict[str, str] = {}  # value -> name, in order
    if not text:
        for keyword, what in _KEYWORDS[:4]:
            found[keyword] = f"{keyword} · {what}"
        for maxim in list(corpus)[: CHOICES_LIMIT - len(found)]:
            name, value = _maxim_choice(maxim)
            found[value] = name
        return [(name, value) for value, name in found.items()]
    for keyword, what in _KEYWORDS:
        if keyword.startswith(lowered):
            found[keyword] = f"{keyword} · {what}"
    digits = lowered.removeprefix("#")
    if digits.isdigit() and digits.isascii():
        exact = corpus.get(int(digits[:6]))
        matches = [exact] if exact is not None else []
        matches += [m for m in corpus if str(m.number).startswith(digits) and m is not exact]
    elif lowered.split()[0] in _WORDS_THAT_ARE_NOT_SEARCHES:
        matches = []
    else:
        query = parse_query(text)
        matches = corpus.search(query.words) if isinstance(query, Search) else []
    for maxim in matches:
        if len(found) >= CHOICES_LIMIT:
            break
        name, value = _maxim_choice(maxim)
        found.setdefault(value, name)
    return [(name, value) for value, name in list(found.items())[:CHOICES_LIMIT]]


@functools.cache
def _zone_names() -> tuple[str, ...]:
    names = {z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")}
    return tuple(sorted(names | {"UTC"}))


def suggest_zones(current: str) -> list[tuple[str, str]]:
    """Autocomplete for IANA time zones: names starting with it, then cities, then the rest."""
    wanted = "_".join(current.strip().split()).lower()
    if not wanted:
        return [(zone, zone) for zone in _COMMON_ZONES]
    names = _zone_names()
    ranked = [z for z in names if z.lower().startswith(wanted)]
    ranked += [z for z in names if z.rsplit("/", 1)[-1].lower().startswith(wanted)]
    ranked += [z for z in names if wanted in z.lower()]
    unique = list(dict.fromkeys(ranked))[:CHOICES_LIMIT]
    return [(zone, zone) for zone in unique]
