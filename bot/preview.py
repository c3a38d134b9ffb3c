"""The preview flow that Slack and Discord share: a private preview of a maxim, with buttons.

`/maxim` answers first with a preview only the asker sees, and three buttons: post it to the
channel (Slack "Send", Discord "Post"), show another one (Slack "Shuffle", Discord "Another"),
or cancel. The state of a preview travels inside the button itself (`Preview.encode`), so
buttons keep working across restarts and processes, and fit Discord's 100-character custom ids.
That state says whether the maxim is shown as a card (``/maxim card 34``), so Shuffle gives
another card and Send shares the card.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from maxims import Corpus, Maxim, MaximReply, Reply

ACTION_POST = "maxim_post"
ACTION_SHUFFLE = "maxim_shuffle"
ACTION_CANCEL = "maxim_cancel"
ACTIONS = (ACTION_POST, ACTION_SHUFFLE, ACTION_CANCEL)
KINDS = ("random", "number", "today", "search")
MAX_ENCODED = 90  # Discord custom ids hold 100 characters; the action prefix needs the rest
STALE_PREVIEW = "That preview is out of date: run `/maxim` again for a fresh one."
TODAY_NOTE = "today’s maxim"
MORE_MATCHES_SHOWN = 5  # "more matches: 3, 8, 12, 40, 51…"
# Marks a card in an encoded preview's kind ("search+card"): buttons made before cards existed
# carry a bare kind and decode as text, as they were.
CARD_MARK = "+card"


@dataclass(frozen=True)
class Preview:
    """A maxim being previewed, and enough to show the next one."""

    maxim: Maxim
    kind: str
    position: int = 0  # for a search: which result is shown
    words: tuple[str, ...] = ()  # for a search: the words, to find the next result
    # For a search: how many results there are, when known ("result 2 of 5"). Not encoded in
    # the button (it is derived), so a decoded preview does not know it.
    total: int | None = field(default=None, compare=False)
    card: bool = False  # shown, and shared, as a card (a picture) rather than text

    @property
    def can_shuffle(self) -> bool:
        """A maxim asked for by number has no "another"."""
        return self.kind != "number"

    def encode(self) -> str:
        """A compact string for a button value or custom id (no user text beyond words)."""
        kind = self.kind + CARD_MARK if self.card else self.kind
        encoded = f"{kind}|{self.maxim.number}|{self.position}|{' '.join(self.words)}"
        return encoded[:MAX_ENCODED]

    @classmethod
    def decode(cls, value: str, corpus: Corpus) -> Preview | None:
        """The preview a button carried, or None if it is malformed or out of date."""
        parts = value.split("|", 3)
        if len(parts) != 4:
            return None
        kind, number, position, words = parts
        card = kind.endswith(CARD_MARK)
        kind = kind.removesuffix(CARD_MARK)
        if kind not in KINDS:
            return None
        if not (number.isdigit() and position.isdigit()):
            return None
        maxim = corpus.get(int(number))
        if maxim is None:
            return None
        return cls(maxim, kind, int(position), tuple(words.split()), card=card)

    def another(self, corpus: Corpus, rng: random.Random) -> Preview:
        """The next search result (wrapping round), or a different random maxim; a card stays."""
        if self.kind == "search" and self.words:
            results = corpus.search(self.words)
            if results:
                position = (self.position + 1) % len(results)
                return Preview(
                    results[position], "search", position, self.words, len(results), self.card
                )
        choices = [m for m in corpus if m.number != self.maxim.number] or list(corpus)
        return Preview(rng.choice(choices), "random", card=self.card)


def preview_of(reply: MaximReply) -> Preview:
    """The first preview for an answer to `/maxim`."""
    total = len(reply.maxims) if reply.kind == "search" else None
    return Preview(reply.maxims[0], reply.kind, 0, reply.words, total, reply.card)


def is_private(reply: Reply, *, preview: bool) -> bool:
    """Whether an answer is for the asker alone: the privacy rule of every platform.

    Maxims are public, unless the platform shows a private preview first (`preview`); lists,
    help and errors are always for the asker alone, so they never fill a channel.
    """
    return not isinstance(reply, MaximReply) or preview


def preview_notes(preview: Preview, escape: Callable[[str], str]) -> list[str]:
    """What a preview says beside its maxim: "result 2 of 5 for “dropout”", "today’s maxim".

    `escape` makes the searched words safe for the platform's markup.
    """
    if preview.kind == "search" and preview.words:
        shown = escape(" ".join(preview.words))
        if preview.total:
            return [f"result {preview.position + 1} of {preview.total} for “{shown}”"]
        return [f"a match for “{shown}”"]
    if preview.kind == "today":
        return [TODAY_NOTE]
    return []


def answer_notes(reply: MaximReply, number: Callable[[int], str] = str) -> list[str]:
    """What an answer posted at once says beside its maxim: other matches, or "today’s maxim".

    `number` formats a maxim number for the platform (the console writes ``#3``).
    """
    if reply.kind == "search" and len(reply.maxims) > 1:
        others = ", ".join(number(m.number) for m in reply.maxims[1 : MORE_MATCHES_SHOWN + 1])
        more = "…" if len(reply.maxims) > MORE_MATCHES_SHOWN + 1 else ""
        return [f"more matches: {others}{more}"]
    if reply.note:  # `today` on a day without a post: when its maxim will be posted
        return [reply.note]
    if reply.kind == "today":
        return [TODAY_NOTE]
    return []
