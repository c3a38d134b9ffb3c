"""Cards for the bot: drawn off the event loop, each at most once, kept for the process's life.

There are 70 maxims and two themes, so at most 140 cards (a few MiB of PNG): a bounded
cache needs no eviction. Concurrent first requests for one card share one drawing.
"""

from __future__ import annotations

from bot.cards.naming import check_theme
from bot.cards.render import render_card

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio

    from maxims.model import Maxim


class CardCache:
    """Every card drawn so far, by (maxim, theme); async callers ask it for PNGs."""

    def __init__(self) -> None:
        self._cards: dict[tuple[Maxim, str], bytes] = {}
        self._drawing: dict[tuple[Maxim, str], asyncio.Future[bytes]] = {}

    def __len__(self) -> int:
        return len(self._cards)

    async def png(self, maxim: Maxim, theme: str = "light") -> bytes:
        """The maxim's card as PNG bytes, drawn in a worker thread the first time only.

        Raises:
            ValueError: `theme` is not one of `THEMES`.

        """
        key = (maxim, check_theme(theme))
        card = self._cards.get(key)
        if card is not None:
            return card
        import asyncio  # here, not at the top: the `maxim card` command never needs it

        drawing = self._drawing.get(key)
        if drawing is None:
            drawing = asyncio.ensure_future(self._draw(maxim, theme))
            self._drawing[key] = drawing
        # shield: one caller cancelled (a timed-out interaction) must not cancel the drawing
        # the others wait on.
        return await asyncio.shield(drawing)

    async def _draw(self, maxim: Maxim, theme: str) -> bytes:
        import asyncio

        key = (maxim, theme)
        try:
            card = await asyncio.to_thread(render_card, maxim, theme)
            self._cards[key] = card
            return card
        finally:
            del self._drawing[key]
