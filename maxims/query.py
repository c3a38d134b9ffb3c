"""The query grammar shared by `/maxim`, the `maxim` command and the console.

`parse_query` turns any string into a `Query`; it never raises. Unreadable input becomes
`Invalid` with a friendly message. Nothing the user typed is kept verbatim except through
`safe_echo`, which cannot form a mention on Slack or Discord.
"""

from __future__ import annotations

from maxims.invisible import INVISIBLE
from maxims.model import Value
from maxims.search import words
from maxims.weekdays import DAYS_HINT, EVERY_DAY, DaysError, looks_like_days, parse_days

MAX_QUERY_LENGTH = 200
_NUMBERISH = frozenset("0123456789.,_eE+-/")
_ECHO_OK = frozenset(":/_-+. '’")
# A thread to talk in: `thread` turns it on, `no-thread` off; neither keeps the channel's choice.
DAILY_THREADS = {"thread": True, "no-thread": False, "nothread": False}
DAILY_STYLES = ("text", "card")  # how a daily post looks: the maxim as text, or as a card


class Query(Value):
    """Base of every parsed query."""

    __slots__ = ()


class RandomMaxim(Query):
    """A random maxim (empty query, or ``random``)."""

    __slots__ = ()


class ByNumber(Query):
    """One maxim by number; the number is not range-checked yet (the corpus knows its size)."""

    __slots__ = ("number",)
    number: int


class NotANumber(Query):
    """Something shaped like a number that is not a whole number (``1e9``, ``4.2``)."""

    __slots__ = ()


class Today(Query):
    """The channel's maxim of the day."""

    __slots__ = ()


class Search(Query):
    """Maxims matching words (``search WORDS`` or bare words)."""

    __slots__ = ("words",)
    words: tuple[str, ...]


class ListAll(Query):
    """Every maxim with a short preview."""

    __slots__ = ()


class Help(Query):
    """Usage."""

    __slots__ = ()


class Stats(Query):
    """The workspace's counts: maxims asked for, shared, posted daily, NaNs answered."""

    __slots__ = ()


class DailyShow(Query):
    """Show this channel's daily post setting."""

    __slots__ = ()


class DailyOff(Query):
    """Stop this channel's daily post."""

    __slots__ = ()


class DailySet(Query):
    """Post daily at hour:minute, in `timezone` (an IANA name, or None for the default).

    `style` is how the post looks, ``text`` or ``card``; None keeps the channel's current one
    (text for a new daily post), as a missing zone keeps its zone. `days` is a weekday mask
    (`maxims.weekdays`); None keeps the channel's days (every day for a new daily post).
    """

    __slots__ = ("hour", "minute", "timezone", "style", "days", "thread")
    hour: int
    minute: int
    timezone: str | None
    style: str | None
    days: int | None
    thread: bool | None

    def __init__(
        self,
        hour: int,
        minute: int,
        timezone: str | None,
        style: str | None = None,
        days: int | None = None,
        thread: bool | None = None,
    ) -> None:
        super().__init__(hour, minute, timezone, style, days, thread)


class Card(Query):
    """One maxim as a card (a picture to share); `query` chooses the maxim, as in text."""

    __slots__ = ("query",)
    query: Query


class Invalid(Query):
    """Input we cannot use; `message` says why and what works instead."""

    __slots__ = ("message",)
    message: str


def _is_link(word: str) -> bool:
    lowered = word.lower()
    return "://" in lowered or lowered.startswith("www.")


def safe_echo(text: str, limit: int = 40) -> str:
    """`text` reduced to visible letters, digits and a little punctuation, without links.

    It can ping nobody, and it links nowhere: Slack and Discord would turn an echoed
    ``https://…`` or ``www.…`` into a link the bot seems to offer, so such words are dropped
    (after the other characters, so that ``http:\u200b//`` cannot slip through).
    """
    # Hangul fillers count as letters (`isalnum`) yet show as nothing (`maxims.invisible`).
    kept = "".join(ch for ch in text if (ch.isalnum() or ch in _ECHO_OK) and ch not in INVISIBLE)
    kept = " ".join(word for word in kept.split(" ") if not _is_link(word)).strip()
    return kept if len(kept) <= limit else kept[: limit - 1] + "…"


def parse_clock(text: str) -> tuple[int, int] | None:
    """``HH:MM`` on a 24-hour clock (``9:05`` also works) -> (hour, minute), else None."""
    hours, sep, minutes = text.partition(":")
    if (
        not sep
        or not (1 <= len(hours) <= 2 and hours.isdigit() and hours.isascii())
        or not (len(minutes) == 2 and minutes.isdigit() and minutes.isascii())
    ):
        return None
    hour, minute = int(hours), int(minutes)
    if hour > 23 or minute > 59:
        return None
    return hour, minute


def _parse_daily(args: list[str], command: str) -> Query:
    usage = f"Use `{command} daily HH:MM Area/City` (24-hour clock, e.g. `09:00 Europe/Berlin`)"
    if not args:
        return DailyShow()
    if len(args) == 1 and args[0].lower() == "off":
        return DailyOff()
    clock = parse_clock(args[0])
    if clock is None:
        return Invalid(f"“{safe_echo(args[0])}” isn’t a time I can read. {usage}.")
    extras = _daily_extras(args[1:])
    if isinstance(extras, str):
        return Invalid(extras)  # a bad day: one line that says what works
    if extras is None:
        return Invalid(
            f"That’s more than a time, a zone, days, `card` and `thread`. {usage}, "
            f"or `{command} daily off`."
        )
    if isinstance(extras, Invalid):
        return Invalid(f"{extras.message} {usage}.")
    zone, style, days, thread = extras
    return DailySet(clock[0], clock[1], zone, style, days, thread)


_Extras = tuple[str | None, str | None, int | None, bool | None]


def _daily_extras(words_: list[str]) -> _Extras | Invalid | str | None:
    """The words after the time, in any order: a zone, days, a style, ``thread`` (each once).

    Days may come in several words (``mon, wed``). A bad day is a `str` (the whole answer),
    a second zone None (too many words), a zone with odd characters `Invalid`.
    """
    zone: str | None = None
    style: str | None = None
    days: int | None = None
    thread: bool | None = None
    rest = list(words_)
    while rest:
        word = rest.pop(0)
        lowered = word.lower()
        if lowered == "every" and rest[:1] and rest[0].lower() == "day":
            rest.pop(0)
            lowered = "daily"
        if lowered in DAILY_STYLES and style is None:
            style = lowered
            continue
        if lowered in DAILY_THREADS and thread is None:
            thread = DAILY_THREADS[lowered]
            continue
        try:
            mask = parse_days(lowered)
        except DaysError as err:
            if looks_like_days(word):
                return not_a_day(err)
            if zone is not None:
                return None
        else:
            days = mask if days is None else (days | mask) & EVERY_DAY
            continue
        if not all(ch.isalnum() or ch in "/_-+" for ch in word):
            return Invalid(f"“{safe_echo(word)}” isn’t a time zone name.")
        zone = word
    return zone, style, days, thread


def not_a_day(err: DaysError) -> str:
    """The one line a bad day gets, on every platform: the word as typed, and what works."""
    return f"‘{safe_echo(err.word)}’ is not a day: {DAYS_HINT}."


def _parse_card(rest: str, command: str) -> Query:
    """``card ...``: the rest chooses one maxim as the text forms do, and it becomes a card."""
    inner = _parse(rest, command)
    if isinstance(inner, _ONE_MAXIM):
        return Card(inner)
    if isinstance(inner, _NOT_ONE_MAXIM):
        return Invalid(
            f"A card shows one maxim: try `{command} card 42`, `{command} card today` or "
            f"`{command} card search dropout` (a daily card: `{command} daily 09:00 card`)."
        )
    return inner  # help, an error, or already a card (``card card 42``)


def _is_control(ch: str) -> bool:
    code = ord(ch)
    return code < 32 or 127 <= code < 160 or code in (0x2028, 0x2029, 0xFEFF)


def changes_daily(query: Query) -> bool:
    """Whether `query` sets or stops a channel's daily post (an admin's change, not a read)."""
    return isinstance(query, _CHANGES_DAILY)


_CHANGES_DAILY = (DailySet, DailyOff)
_ONE_MAXIM = (RandomMaxim, ByNumber, Today, Search)  # what a card can show
_NOT_ONE_MAXIM = (ListAll, Stats, DailyShow, DailyOff, DailySet)


_RECENT: dict[tuple[str, str], Query] = {}  # queries are immutable values: safe to hand out again
_RECENT_SIZE = 256


def parse_query(text: str, command: str = "/maxim") -> Query:
    """Parse one query; never raises, whatever the string.

    Remembers the last few: a chat request asks for the same one up to three times (the HTTP
    server's replay rule, the listener, the chat service).
    """
    if len(text) > MAX_QUERY_LENGTH:
        return _parse(text, command)  # refused at once; a pasted essay is not worth keeping
    key = (text, command)
    query = _RECENT.get(key)
    if query is None:
        if len(_RECENT) >= _RECENT_SIZE:
            _RECENT.clear()
        query = _RECENT[key] = _parse(text, command)
    return query


def _parse(text: str, command: str) -> Query:
    if len(text) > MAX_QUERY_LENGTH:
        return Invalid(
            f"That’s a long query: keep it under {MAX_QUERY_LENGTH} characters, "
            f"like `{command} search dropout`."
        )
    # Tabs and line breaks are just spacing; other control characters mean garbled input.
    text = text.replace("\t", " ").replace("\r", " ").replace("\n", " ")
    if any(_is_control(ch) for ch in text):
        return Invalid(
            f"That query has control characters in it. Try plain words or a number, "
            f"like `{command} 42`."
        )
    parts = text.split()
    if not parts:
        return RandomMaxim()
    head = parts[0].lower()
    if len(parts) == 1:
        if head in ("help", "-h", "--help", "?"):
            return Help()
        if head == "list":
            return ListAll()
        if head == "today":
            return Today()
        if head == "random":
            return RandomMaxim()
        if head == "stats":
            return Stats()
    if head == "daily":
        return _parse_daily(parts[1:], command)
    if head == "card":
        return _parse_card(" ".join(parts[1:]), command)
    if head == "search":
        found = words(" ".join(parts[1:]))
        if not found:
            return Invalid(f"Search for what? Try `{command} search dropout`.")
        return Search(tuple(found))
    if len(parts) == 1:
        token = parts[0]
        if token.startswith("#"):
            digits = token[1:]
            if not digits:
                return Invalid(f"`#` needs a number after it, like `{command} #42`.")
            token = digits
        number = _parse_number(token)
        if number is not None:
            return number
        if token != parts[0]:
            return Invalid(f"`#` needs a whole number after it, like `{command} #42`.")
    found = words(text)
    if not found:
        return Invalid(
            f"I couldn’t find any words in that. Try `{command} search overfitting`, "
            f"a number like `{command} 42`, or `{command} help`."
        )
    return Search(tuple(found))


def _parse_number(token: str) -> Query | None:
    sign = 1
    body = token
    if body[:1] in "+-" and len(body) > 1:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body.isdigit() and body.isascii():
        # Python refuses to convert strings of over 4,300 digits; no maxim is that high anyway.
        return ByNumber(sign * int(body[:10]) if len(body) <= 10 else sign * 10**10)
    if body[:1].isdigit() and all(ch in _NUMBERISH for ch in body):
        return NotANumber()
    return None
