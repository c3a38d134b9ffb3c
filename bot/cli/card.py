"""``maxim card``: the options of the card form, and writing the PNG where they say.

Imported by `bot.cli.maxim` only for ``maxim card ...``: the text forms keep their start-up
budget. Drawing loads Pillow (through `bot.cards.render_card`), and only once the query has
found a maxim.
"""

from __future__ import annotations

from bot.cards import THEMES, card_filename, check_theme, render_card

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import TextIO

    from maxims.model import Maxim

STDOUT = "-"
CARD_USAGE = f"""\
  maxim card [QUERY] [-o FILE] [--theme {"|".join(THEMES)}]
                       the maxim (QUERY as above; none: a random one) as a 1200×630 PNG card,
                       written to maxim-N.png here unless -o says where (-o - : standard output)"""


class CardArgs:
    """A parsed ``maxim card`` command line: the query's words, where to write, the theme."""

    __slots__ = ("words", "output", "theme", "help")

    def __init__(self, words: list[str], output: str | None, theme: str, help: bool) -> None:
        self.words = words
        self.output = output
        self.theme = theme
        self.help = help


def _value(args: Sequence[str], index: int, option: str) -> str:
    if index + 1 >= len(args):
        what = "a theme (" + " or ".join(THEMES) + ")" if option == "--theme" else "a file name"
        raise ValueError(f"{option} needs {what}; see maxim --help")
    return args[index + 1]


def parse_card_args(args: Sequence[str]) -> CardArgs:
    """The words after ``maxim card`` read as options and a query.

    Raises:
        ValueError: an unknown option, an option without its value or an unknown theme; the
            message is one line for the user.

    """
    words: list[str] = []
    output: str | None = None
    theme = THEMES[0]
    index = 0
    while index < len(args):
        arg = args[index]
        name, equals, inline = arg.partition("=")
        if arg in ("-h", "--help"):
            return CardArgs([], None, theme, help=True)
        if name in ("-o", "--output", "--theme"):
            value = inline if equals else _value(args, index, name)
            index += 0 if equals else 1
            if name == "--theme":
                theme = value
            else:
                output = value
        elif arg.startswith("--"):
            raise ValueError(f"unknown option {name!r}; see maxim --help")
        else:
            words.append(arg)
        index += 1
    check_theme(theme)
    return CardArgs(words, output, theme, help=False)


def save_card(maxim: Maxim, args: CardArgs, stdout: TextIO, stderr: TextIO) -> int:
    """Draw the card and write it where `args` says; the exit status (1: not written)."""
    if args.output == STDOUT:
        binary = getattr(stdout, "buffer", None)
        if binary is None or stdout.isatty():
            print(
                "maxim: not writing a PNG to a terminal: redirect it "
                "(maxim card -o - > card.png) or name a file with -o FILE",
                file=stderr,
            )
            return 2
        png = render_card(maxim, args.theme)
        stdout.flush()
        binary.write(png)
        binary.flush()
        return 0
    path = args.output or card_filename(maxim)
    png = render_card(maxim, args.theme)  # drawn first: a failure leaves no empty file
    try:
        with open(path, "wb") as file:
            file.write(png)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        print(f"maxim: can't write the card to {path}: {reason}", file=stderr)
        return 1
    print(path, file=stdout)
    return 0
