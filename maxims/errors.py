"""Errors of the core. Each carries a `user_message` that is safe to show in chat as is."""

from __future__ import annotations


class MaximError(Exception):
    """An expected problem with a friendly, one-line `user_message` for the person asking."""

    def __init__(self, user_message: str) -> None:
        super().__init__(user_message)
        self.user_message = user_message


class CorpusError(MaximError):
    """The packaged corpus is broken; the message lists every bad entry at once."""
