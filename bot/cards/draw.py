"""Drawing a card with Pillow: layout by measured widths, then pixels, then PNG bytes.

Imported only by `render_card`, on the first card drawn: this module imports Pillow at the
top, and nothing else in the bot may import it at start-up.

The layout (1200×630, the size link previews use): "Maxim 34" in bold at the top left, the
maxim's words as large as fits the space between (left-aligned, centred vertically), and the
collection's title as a quiet footer. Every piece of text keeps a 60 px margin at least; the
layout keeps more. Fonts are laid out with Pillow's basic engine: the same pixels whether or
not libraqm is installed (with the same Pillow wheel, whose FreeType is its own), and
deterministic bytes (PNG carries no time).
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from bot.cards.wrap import Words, has_orphan, wrap

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
OPENING_QUOTES = "“‘\"'"
LEADING = 1.3  # line spacing, as a multiple of the font size
SIZES = range(28, 74, 2)
"""Font sizes tried for the words, in px: 28 px stays readable in a chat preview's thumbnail."""


# One FreeType face must not be used by two threads at once, and `CardCache` draws different
# cards in worker threads side by side: the text is laid out and drawn under this lock, and
# only the PNG encoding (most of the time, and GIL-free) runs in parallel.
_FONTS_IN_USE = threading.Lock()


@lru_cache(maxsize=64)
def font(path: Path, size: int) -> ImageFont.FreeTypeFont:
    """A font at one size, loaded once per process (loading parses the whole file).

    Checks the file first: given a path that does not exist, Pillow looks for a font of the
    same name among the system's fonts, and would hide a wheel that lost ours.
    """
    if not path.is_file():
        raise FileNotFoundError(f"the card font {path} is missing from the package")
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


def _try(text: str, size: int, band: int, whole: bool) -> tuple[list[str], int] | None:
    """The lines and block height of `text` at `size`, or None when it does not fit.

    With `whole`, lines that end on a lone word do not count as fitting either.
    """
    typeface = font(REGULAR, size)
    words = Words(text, typeface.getlength)
    measure = WIDTH - 2 * MARGIN_X
    if words.widest() > measure:
        return None
    lines = wrap(words, measure)
    if whole and has_orphan(lines):
        return None
    ascent, descent = typeface.getmetrics()
    height = (len(lines) - 1) * round(size * LEADING) + ascent + descent
    if height > band:
        return None
    return words.text(lines), height


def _largest(text: str, band: int, whole: bool) -> tuple[int, list[str], int] | None:
    """The largest size that fits, with its lines and height (bisected: 5 tries, not 23)."""
    low, high = 0, len(SIZES) - 1
    found: tuple[int, list[str], int] | None = None
    while low <= high:
        middle = (low + high) // 2
        tried = _try(text, SIZES[middle], band, whole)
        if tried is None:
            high = middle - 1
        else:
            found = (SIZES[middle], *tried)
            low = middle + 1
    return found


def _cut(text: str, size: int, band: int) -> list[str]:
    """As many lines as the band holds at `size`, each within the measure, cut with "…".

    No maxim of the corpus needs it; a longer text (another corpus, a future maxim) gets a
    card that stays inside its margins rather than one whose words run off the edges.
    """
    typeface = font(REGULAR, size)
    measure = WIDTH - 2 * MARGIN_X
    words = Words(text, typeface.getlength)
    lines = words.text(words.fill(measure))
    ascent, descent = typeface.getmetrics()
    room = max(1, 1 + (band - ascent - descent) // round(size * LEADING))
    cut = len(lines) > room
    lines = lines[:room]
    if cut:
        lines[-1] += "…"
    for index, line in enumerate(lines):
        while typeface.getlength(line) > measure and len(line) > 1:
            line = line[:-2].rstrip(" ,;:—–-") + "…"  # a word wider than the card, or the "…"
        lines[index] = line
    return lines


def layout(maxim: Maxim) -> Layout:
    """The largest size at which the maxim's words fit, and their lines at that size.

    A size whose lines end on a lone word (an orphan that balancing could not mend) loses to
    a smaller size without one, if there is one that fits. Fitting gets harder as the size
    grows, so the sizes are bisected. When not even the smallest fits (no maxim of the
    corpus: a test checks all 70), the smallest is used and `fits` is False.
    """
    top, bottom = _body_box()
    band = bottom - top
    found = _largest(maxim.text, band, whole=True) or _largest(maxim.text, band, whole=False)
    if found is None:
        return Layout(SIZES[0], _cut(maxim.text, SIZES[0], band), top, fits=False)
    size, lines, height = found
    return Layout(size, lines, top + (band - height) // 2, fits=True)


def draw_card(maxim: Maxim, theme: Theme) -> bytes:
    """The maxim's card in `theme`, as PNG bytes."""
    image = Image.new("RGB", (WIDTH, HEIGHT), theme.background)
    with _FONTS_IN_USE:
        _draw_text(image, maxim, theme)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _draw_text(image: Image.Image, maxim: Maxim, theme: Theme) -> None:
    placed = layout(maxim)
    pen = ImageDraw.Draw(image)
    label = font(BOLD, LABEL_SIZE)
    pen.text((MARGIN_X, MARGIN_Y), label_text(maxim), font=label, fill=theme.label, anchor="la")
    words = font(REGULAR, placed.size)
    ascent, _ = words.getmetrics()
    baseline = placed.top + ascent
    for line in placed.lines:
        # Hanging punctuation: an opening quote sits in the margin, so the letters align.
        hang = words.getlength(line[0]) if line[0] in OPENING_QUOTES else 0
        pen.text((MARGIN_X - hang, baseline), line, font=words, fill=theme.text, anchor="ls")
        baseline += placed.leading
    footer = font(REGULAR, FOOTER_SIZE)
    _, descent = footer.getmetrics()
    pen.text(
        (MARGIN_X, HEIGHT - MARGIN_Y - descent), FOOTER, font=footer, fill=theme.footer, anchor="ls"
    )
