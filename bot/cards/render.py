"""`render_card`: the one entry to drawing, which loads Pillow only when first called."""

from __future__ import annotations

from bot.cards.naming import check_theme
from bot.cards.themes import PALETTE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from maxims.model import Maxim


def render_card(maxim: Maxim, theme: str = "light") -> bytes:
    """The maxim's card as PNG bytes: pure and deterministic (same maxim and theme, same bytes).

    Synchronous and CPU-bound (tens of milliseconds): async callers use `CardCache`, which
    draws off the event loop and keeps each card once drawn.

    Raises:
        ValueError: `theme` is not one of `THEMES` (the message names them).

    """
    check_theme(theme)
    from bot.cards.draw import draw_card  # Pillow loads here, on the first card drawn

    return draw_card(maxim, PALETTE[theme])
