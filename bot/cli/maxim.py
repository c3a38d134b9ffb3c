"""The ``maxim`` command: fortune for ML engineers.

Exit status: 0 on success, 1 when nothing matches, 2 on bad usage (message on stderr).
This module is on a tight start-up budget (see bench/): it imports no framework, no argparse
and nothing from ``bot`` beyond itself, and reads the clock only for ``maxim today``. Only
``maxim card`` (and the full help) loads `bot.cli.card`, and only drawing a card loads Pillow.
"""

from __future__ import annotations

import os
import sys

from maxims.corpus import load_corpus
from maxims.query import Today, parse_query
from maxims.reply import ListReply, MaximReply, Reply, TextReply, answer, render_help

TYPE_CHECKING = False
if TYPE_CHECKING:
    import datetime
    from collections.abc import Sequence
    from typing import TextIO

    from bot.cli.card import CardArgs
    from maxims.model import Maxim

COMMAND = "maxim"
SEARCH_SHOWN = 10
USAGE = f"""usage: maxim [QUERY]

{render_help(COMMAND).replace("`", "")}
  maxim card ...       the same as a picture: see CARD below
  maxim --help         this help

CARD
{{CARD_USAGE}}

Exit status: 0 on success, 1 when nothing matches, 2 on bad usage."""


class UrandomRng:
    """A random source from os.urandom, so the CLI need not import ``random``."""

    def randrange(self, stop: int, /) -> int:
        """A number in ``range(stop)``."""
        return int.from_bytes(os.urandom(8), "big") % stop


def _format_maxim(maxim: Maxim) -> str:
    return f"{maxim.text}\n    — maxim #{maxim.number}"


def render_text(reply: MaximReply | ListReply) -> str:
    """The reply as plain terminal text."""
    if isinstance(reply, ListReply):
        return "\n".join(f"{m.number:>2}. {m.preview(70)}" for m in reply.maxims)
    if reply.kind != "search" or len(reply.maxims) == 1:
        return _format_maxim(reply.maxims[0])
    lines = [f"#{m.number:<3}{m.text}" for m in reply.maxims[:SEARCH_SHOWN]]
    if len(reply.maxims) > SEARCH_SHOWN:
        lines.append(f"(and {len(reply.maxims) - SEARCH_SHOWN} more)")
    return "\n".join(lines)


def _today() -> datetime.date:
    import datetime

    return datetime.date.today()


def _usage() -> str:
    """The full help, with the card's options (read from its module only when asked)."""
    from bot.cli.card import CARD_USAGE

    return USAGE.replace("{CARD_USAGE}", CARD_USAGE)


def _answer(words: Sequence[str]) -> Reply:
    query = parse_query(" ".join(words), COMMAND)
    # The clock is read only when it matters; importing datetime is not free at this scale.
    today = _today() if isinstance(query, Today) else None
    return answer(
        query,
        corpus=load_corpus(),
        today=today,  # type: ignore[arg-type]  # only Today reads it, and gets a real date
        rng=UrandomRng(),
        command=COMMAND,
    )


def _refuse(reply: Reply, stdout: TextIO, stderr: TextIO) -> int | None:
    """The exit status for a reply that is no maxim (help or an error), after saying so."""
    if isinstance(reply, TextReply):
        if reply.status == "help":
            print(_usage(), file=stdout)
            return 0
        print(f"maxim: {reply.text.replace('`', '')}", file=stderr)
        return 1 if reply.status == "not_found" else 2
    if not isinstance(reply, MaximReply | ListReply):
        print("maxim: that query is for chat channels; see maxim --help", file=stderr)
        return 2
    return None


def run_card(args: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    """``maxim card [QUERY] [-o FILE] [--theme THEME]``: the maxim the query finds, as a PNG."""
    from bot.cli.card import parse_card_args, save_card

    try:
        parsed: CardArgs = parse_card_args(args)
    except ValueError as error:
        print(f"maxim: {error}", file=stderr)
        return 2
    if parsed.help:
        print(_usage(), file=stdout)
        return 0
    reply = _answer(parsed.words)
    refused = _refuse(reply, stdout, stderr)
    if refused is not None:
        return refused
    if isinstance(reply, ListReply):
        print("maxim: a card shows one maxim: try maxim card 42", file=stderr)
        return 2
    assert isinstance(reply, MaximReply)  # noqa: S101  # _refuse let nothing else through
    return save_card(reply.maxims[0], parsed, stdout, stderr)  # a search: its best match


def run(args: Sequence[str], stdout: TextIO, stderr: TextIO) -> int:
    """Answer one command line; returns the exit status."""
    if args and args[0] in ("-h", "--help"):
        print(_usage(), file=stdout)
        return 0
    if args and args[0] == "card":
        return run_card(args[1:], stdout, stderr)
    unknown = [a for a in args if a.startswith("--")]
    if unknown:
        print(f"maxim: unknown option {unknown[0]!r}; see maxim --help", file=stderr)
        return 2
    reply = _answer(args)
    refused = _refuse(reply, stdout, stderr)
    if refused is not None:
        return refused
    assert isinstance(reply, MaximReply | ListReply)  # noqa: S101  # _refuse let nothing else through
    print(render_text(reply), file=stdout)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``maxim`` console script."""
    try:
        return run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr)
    except BrokenPipeError:  # `maxim list | head -1`
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
