"""What goes with a card besides its pixels: its alt text, its file name, the theme check."""

from __future__ import annotations

from bot.cards.themes import THEMES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from maxims.model import Maxim


def alt_text(maxim: Maxim) -> str:
    """The card's alt text: the maxim's own words ("Maxim 34: If you’re seeing NaN, …").

    The whole text, never a preview: the alt text is the card for whoever cannot see it.
    """
    return f"Maxim {maxim.number}: {maxim.text}"


def card_filename(maxim: Maxim) -> str:
    """The card's file name ("maxim-34.png"), on disk and as an upload's name."""
    return f"maxim-{maxim.number}.png"


def check_theme(theme: str) -> str:
    """`theme` itself when it is one of `THEMES`.

    Raises:
        ValueError: it is not; the message names the choices ("pick light or dark").

    """
    if theme not in THEMES:
        choices = " or ".join(THEMES)
        shown = theme if len(theme) <= 20 else theme[:19] + "…"
        raise ValueError(f"There’s no card theme “{shown}”: pick {choices}.")
    return theme
