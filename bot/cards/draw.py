"""Drawing a card with Pillow: layout by measured widths, then pixels, then PNG bytes.

Imported only by `render_card`, on the first card drawn: this module imports Pillow at the
top, and nothing else in the bot may import it at start-up.

The layout (1200×630, the size link previews use): "Maxim 34" in bold at the top left, the
maxim's words as large as fits the space between (left-aligned, centred vertically), and the
collection's title as a quiet footer. Every piece of text keeps a 60 px margin at least; the
layout keeps more. Fonts are laid out with Pillow's basic engine: the same pixels on every
machine whether or not libraqm is installed, and deterministic bytes (PNG carries no time).
"""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.cards.wrap import Words, wrap

TYPE_CHECKING = False
if TYPE_CHECKING:
    from bot.cards.themes import Theme
    from maxims.model import Maxim

FONTS = Path(__file__).resolve().parent / "fonts"
REGULAR = FONTS / "Inter-Regular.otf"
BOLD = FONTS / "Inter-Bold.otf"

WIDTH, HEIGHT = 1200, 630
MARGIN_X = 88  # left and right
MARGIN_Y = 72  # above the label, below the footer's baseline descenders
LABEL_SIZE = 30
FOOTER_SIZE = 22
FOOTER = "The Seventy Maxims of Effective Machine Learning Engineers"
GAP = 40  # between the label or footer and the maxim's words
LEADING = 1.3  # line spacing, as a multiple of the font size
SIZES = range(28, 74, 2)
"""Font sizes tried for the words, in px: 28 px stays readable in a chat preview's thumbnail."""


@lru_cache(maxsize=64)
def font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """A font at one size, loaded once per process (loading parses the whole file)."""
    return ImageFont.truetype(str(path), size, layout_engine=ImageFont.Layout.BASIC)


def label_text(maxim: Maxim) -> str:
    """The card's heading: "Maxim 34"."""
    return f"Maxim {maxim.number}"


class Layout:
    """Where the words go: their size, their lines and the top of the block."""

    __slots__ = ("size", "lines", "top", "fits")

    def __init__(self, size: int, lines: list[str], top: int, fits: bool) -> None:
        self.size = size
        self.lines = lines
        self.top = top
        self.fits = fits

    @property
    def leading(self) -> int:
        """Baseline to baseline, in px."""
        return round(self.size * LEADING)


def _body_box() -> tuple[int, int]:
    """The top and bottom of the band the maxim's words may use."""
    ascent, descent = font(BOLD, LABEL_SIZE).getmetrics()
    top = MARGIN_Y + ascent + descent + GAP
    ascent, descent = font(REGULAR, FOOTER_SIZE).getmetrics()
    bottom = HEIGHT - MARGIN_Y - ascent - descent - GAP
    return top, bottom


def _try(text: str, size: int, band: int) -> tuple[list[str], int] | None:
    """The lines and block height of `text` at `size`, or None when it does not fit."""
    typeface = font(REGULAR, size)
    words = Words(text, typeface.getlength)
    measure = WIDTH - 2 * MARGIN_X
    if words.widest() > measure:
        return None
    lines = wrap(words, measure)
    ascent, descent = typeface.getmetrics()
    height = (len(lines) - 1) * round(size * LEADING) + ascent + descent
    if height > band:
        return None
    return words.text(lines), height


def layout(maxim: Maxim) -> Layout:
    """The largest size at which the maxim's words fit, and their lines at that size.

    Fitting only gets harder as the size grows, so the sizes are bisected (five tries, not
    twenty). When not even the smallest fits (no maxim of the corpus: a test checks all 70),
    the smallest is used and `fits` is False.
    """
    top, bottom = _body_box()
    band = bottom - top
    low, high = 0, len(SIZES) - 1
    found: tuple[int, list[str], int] | None = None
    while low <= high:
        middle = (low + high) // 2
        tried = _try(maxim.text, SIZES[middle], band)
        if tried is None:
            high = middle - 1
        else:
            found = (SIZES[middle], *tried)
            low = middle + 1
    if found is None:
        size = SIZES[0]
        typeface = font(REGULAR, size)
        words = Words(maxim.text, typeface.getlength)
        return Layout(size, words.text(wrap(words, WIDTH - 2 * MARGIN_X)), top, fits=False)
    size, lines, height = found
    return Layout(size, lines, top + (band - height) // 2, fits=True)


def draw_card(maxim: Maxim, theme: Theme) -> bytes:
    """The maxim's card in `theme`, as PNG bytes."""
    placed = layout(maxim)
    image = Image.new("RGB", (WIDTH, HEIGHT), theme.background)
    pen = ImageDraw.Draw(image)
    label = font(BOLD, LABEL_SIZE)
    pen.text((MARGIN_X, MARGIN_Y), label_text(maxim), font=label, fill=theme.label, anchor="la")
    words = font(REGULAR, placed.size)
    ascent, _ = words.getmetrics()
    baseline = placed.top + ascent
    for line in placed.lines:
        pen.text((MARGIN_X, baseline), line, font=words, fill=theme.text, anchor="ls")
        baseline += placed.leading
    footer = font(REGULAR, FOOTER_SIZE)
    _, descent = footer.getmetrics()
    pen.text(
        (MARGIN_X, HEIGHT - MARGIN_Y - descent), FOOTER, font=footer, fill=theme.footer, anchor="ls"
    )
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
