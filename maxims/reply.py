"""Platform-neutral replies and `answer`, the one function every front end calls.

Replies are data: each adapter renders them its own way (Slack Block Kit, a Discord embed,
plain text on the console), so the core never formats for a platform.
"""

from __future__ import annotations

from maxims.model import Maxim, Value
from maxims.query import (
    ByNumber,
    Card,
    Help,
    Invalid,
    ListAll,
    NotANumber,
    Query,
    RandomMaxim,
    Search,
    Stats,
    Today,
    parse_query,
)
from maxims.weekdays import EVERY_DAY

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime

    from maxims.corpus import Corpus, Rng


class Reply(Value):
    """Base of every reply."""

    __slots__ = ()


class MaximReply(Reply):
    """One or more maxims; `kind` is how they were chosen: random, number, today or search.

    For a search, `maxims` holds every match, best first: adapters show the first and offer
    the next one on "Shuffle" / "Another". `card` asks for the first as a card (a picture)
    rather than text: adapters that cannot draw one yet show the text, which is still the
    right answer. `note` is said beside the maxim when set: the chat layer tells `today` on a
    day without a post when that maxim will be posted.
    """

    __slots__ = ("maxims", "kind", "words", "card", "note")
    maxims: tuple[Maxim, ...]
    kind: str
    words: tuple[str, ...]  # the search words (normalised), to re-run the search later
    card: bool
    note: str

    def __init__(
        self,
        maxims: tuple[Maxim, ...],
        kind: str,
        words: tuple[str, ...] = (),
        card: bool = False,
        note: str = "",
    ) -> None:
        super().__init__(tuple(maxims), kind, tuple(words), card, note)


class ListReply(Reply):
    """Every maxim, for a numbered list with previews."""

    __slots__ = ("maxims",)
    maxims: tuple[Maxim, ...]


class TextReply(Reply):
    """A message for the asker alone; `status` is help, notice, error or not_found."""

    __slots__ = ("text", "status")
    text: str
    status: str


class HelpLine(Value):
    """One line of help: the form typed after the command and what it does.

    `keyword` is the word autocomplete offers for the line (`random` for the bare command),
    or None for a form that is not one word (`42`, `search WORDS`).
    """

    __slots__ = ("form", "what", "keyword")
    form: str
    what: str
    keyword: str | None


# The one place the commands are described: help, `maxim --help` and autocomplete read it.
HELP = (
    HelpLine("", "a random maxim", "random"),
    HelpLine("42", "maxim 42 (also #42)", None),
    HelpLine("today", "today’s maxim of the day", "today"),
    HelpLine("search WORDS", "the best matches; bare words work too, typos forgiven", None),
    HelpLine(
        "card 42",
        "maxim 42 as a picture; also `card`, `card today`, `card search WORDS`",
        "card",
    ),
    HelpLine("list", "every maxim, numbered", "list"),
    HelpLine(
        "daily",
        # within Discord's 100 characters for an autocomplete choice, "daily · " included
        "daily post here; `daily HH:MM Area/City [mon-fri] [card] [thread]`, `daily off` (admins)",
        "daily",
    ),
    HelpLine("stats", "what this workspace asked for, shared and got daily (counts only)", "stats"),
    HelpLine("help", "this help", "help"),
)


def render_help(command: str = "/maxim") -> str:
    """Usage text; the one place help is written, shared by every front end."""
    width = max(len(f"{command} {line.form}".rstrip()) for line in HELP)
    lines = ["The Seventy Maxims of Effective Machine Learning Engineers"]
    for line in HELP:
        lines.append(f"  {f'{command} {line.form}'.rstrip():<{width}}  {line.what}")
    return "\n".join(lines)


def _range_hint(size: int, command: str) -> str:
    return f"pick 1–{size}, or try `{command} search <word>`"


def answer(
    query: Query | str,
    *,
    corpus: Corpus,
    today: datetime.date,
    rng: Rng,
    channel_key: str = "",
    command: str = "/maxim",
    days: int = EVERY_DAY,
) -> Reply:
    """Answer one query; never raises. Daily-post queries are the caller's (they need storage).

    `days` is the channel's posting days: `today` is then the maxim of the next post.
    """
    if isinstance(query, str):
        query = parse_query(query, command)
    if isinstance(query, Card):
        reply = answer(
            query.query,
            corpus=corpus,
            today=today,
            rng=rng,
            channel_key=channel_key,
            command=command,
            days=days,
        )
        if isinstance(reply, MaximReply):
            return MaximReply(reply.maxims, reply.kind, reply.words, card=True)
        return reply
    size = len(corpus)
    if isinstance(query, RandomMaxim):
        return MaximReply((corpus.random(rng),), "random")
    if isinstance(query, ByNumber):
        maxim = corpus.get(query.number)
        if maxim is None:
            shown = str(query.number) if abs(query.number) < 10**6 else "that high"
            return TextReply(f"There’s no maxim {shown}: {_range_hint(size, command)}.", "error")
        return MaximReply((maxim,), "number")
    if isinstance(query, NotANumber):
        return TextReply(
            f"Maxims have whole numbers from 1 to {size}: try `{command} 42`.", "error"
        )
    if isinstance(query, Today):
        return MaximReply((corpus.for_day(today, channel_key, days),), "today")
    if isinstance(query, Search):
        found = corpus.search(query.words)
        if found:
            return MaximReply(tuple(found), "search", query.words)
        shown = " ".join(query.words)
        shown = shown if len(shown) <= 40 else shown[:39] + "…"
        hint = corpus.index.closest_word(query.words)
        tip = f" Did you mean “{hint}”?" if hint else ""
        return TextReply(
            f"No maxim matches “{shown}”.{tip} Try `{command} list` to see them all.",
            "not_found",
        )
    if isinstance(query, ListAll):
        return ListReply(corpus.maxims)
    if isinstance(query, Help):
        return TextReply(render_help(command), "help")
    if isinstance(query, Invalid):
        return TextReply(query.message, "error")
    if isinstance(query, Stats):
        return TextReply(
            f"`{command} stats` counts what a chat workspace asks for: ask the bot.", "error"
        )
    return TextReply(
        f"`{command} daily` is for chat channels; here, try `{command} help`.", "error"
    )
