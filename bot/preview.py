"""The preview flow that Slack and Discord share: a private preview of a maxim, with buttons.

`/maxim` answers first with a preview only the asker sees, and three buttons: post it to the
channel (Slack "Send", Discord "Post"), show another one (Slack "Shuffle", Discord "Another"),
or cancel. The state of a preview travels inside the button itself (`Preview.encode`), so
buttons keep working across restarts and processes, and fit Discord's 100-character custom ids.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from maxims import Corpus, Maxim, MaximReply

ACTION_POST = "maxim_post"
ACTION_SHUFFLE = "maxim_shuffle"
ACTION_CANCEL = "maxim_cancel"
ACTIONS = (ACTION_POST, ACTION_SHUFFLE, ACTION_CANCEL)
KINDS = ("random", "number", "today", "search")
MAX_ENCODED = 90  # Discord custom ids hold 100 characters; the action prefix needs the rest


@dataclass(frozen=True)
class Preview:
    """A maxim being previewed, and enough to show the next one."""

    maxim: Maxim
    kind: str
    position: int = 0  # for a search: which result is shown
    words: tuple[str, ...] = ()  # for a search: the words, to find the next result

    @property
    def can_shuffle(self) -> bool:
        """A maxim asked for by number has no "another"."""
        return self.kind != "number"

    def encode(self) -> str:
        """A compact string for a button value or custom id (no user text beyond words)."""
        encoded = f"{self.kind}|{self.maxim.number}|{self.position}|{' '.join(self.words)}"
        return encoded[:MAX_ENCODED]

    @classmethod
    def decode(cls, value: str, corpus: Corpus) -> Preview | None:
        """The preview a button carried, or None if it is malformed or out of date."""
        parts = value.split("|", 3)
        if len(parts) != 4 or parts[0] not in KINDS:
            return None
        kind, number, position, words = parts
        if not (number.isdigit() and position.isdigit()):
            return None
        maxim = corpus.get(int(number))
        if maxim is None:
            return None
        return cls(maxim, kind, int(position), tuple(words.split()))

    def another(self, corpus: Corpus, rng: random.Random) -> Preview:
        """The next search result (wrapping round), or a different random maxim."""
        if self.kind == "search" and self.words:
            results = corpus.search(self.words)
            if results:
                position = (self.position + 1) % len(results)
                return Preview(results[position], "search", position, self.words)
        choices = [m for m in corpus if m.number != self.maxim.number] or list(corpus)
        return Preview(rng.choice(choices), "random")


def preview_of(reply: MaximReply) -> Preview:
    """The first preview for an answer to `/maxim`."""
    return Preview(reply.maxims[0], reply.kind, 0, reply.words)
