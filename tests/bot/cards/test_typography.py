"""The card as a typesetter would check it: glyphs, contrast, margins, fit, line breaks."""

import hashlib
import io

import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops

from bot.cards import THEMES, render_card
from bot.cards.draw import BOLD, FOOTER, HEIGHT, REGULAR, SIZES, WIDTH, label_text, layout
from bot.cards.themes import PALETTE
from bot.cards.wrap import has_orphan, wrap_text
from maxims import load_corpus
from maxims.model import Maxim
from tests.helpers import run_python

CORPUS = load_corpus()
EDGE = 60  # no text within 60 px of an edge
LONGEST = max(CORPUS.maxims, key=lambda m: len(m.text))
EM_DASH = [m for m in CORPUS.maxims if "—" in m.text]
CURLY = [m for m in CORPUS.maxims if "“" in m.text]
SAMPLE = sorted(
    {LONGEST.number, min(CORPUS.maxims, key=lambda m: len(m.text)).number}
    | {m.number for m in EM_DASH + CURLY}
)


def test_the_samples_cover_what_they_claim():
    assert LONGEST.number == 21
    assert {8, 11, 40, 70} <= {m.number for m in EM_DASH}
    assert CURLY


@pytest.mark.parametrize("path", [REGULAR, BOLD], ids=lambda p: p.name)
def test_every_character_drawn_has_a_glyph_in_each_font(path):
    """Pillow draws a missing glyph as an empty box, silently: check the fonts' own maps."""
    cmap = TTFont(path, lazy=True).getBestCmap()
    texts = [m.text for m in CORPUS.maxims] + [FOOTER] + [label_text(m) for m in CORPUS.maxims]
    missing = sorted({char for text in texts for char in text if ord(char) not in cmap})
    assert missing == []


def relative_luminance(rgb):
    def linear(channel):
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = map(linear, rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(one, other):
    light, dark = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_contrast_formula_matches_wcag_examples():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("role", ["text", "label", "footer"])
def test_every_text_colour_has_aaa_contrast(theme, role):
    colours = PALETTE[theme]
    assert contrast(getattr(colours, role), colours.background) >= 7


def drawn_box(png, theme):
    with Image.open(io.BytesIO(png)) as image:
        blank = Image.new("RGB", image.size, PALETTE[theme].background)
        return ImageChops.difference(image.convert("RGB"), blank).getbbox()


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("number", SAMPLE)
def test_no_text_is_drawn_within_60_px_of_an_edge(number, theme):
    left, top, right, bottom = drawn_box(render_card(CORPUS.get(number), theme), theme)
    assert min(left, top, WIDTH - right, HEIGHT - bottom) >= EDGE, (left, top, right, bottom)


def test_every_maxim_fits_and_the_longest_stays_readable():
    placed = {m.number: layout(m) for m in CORPUS.maxims}
    assert [n for n, p in placed.items() if not p.fits] == []
    assert placed[21].size >= 48
    assert min(p.size for p in placed.values()) >= SIZES[0]


def test_the_lines_keep_every_word_and_typographic_quote():
    for maxim in CORPUS.maxims:
        assert " ".join(layout(maxim).lines) == " ".join(maxim.text.split())


def test_no_maxim_ends_on_a_lone_word():
    orphans = [m.number for m in CORPUS.maxims if has_orphan_lines(layout(m).lines)]
    assert orphans == []


def has_orphan_lines(lines):
    return len(lines) > 1 and " " not in lines[-1]


def test_wrapping_balances_lines_to_avoid_an_orphan():
    # greedy filling at 19 gives ["aaaa bbbb cccc dddd", "eeee"]
    assert wrap_text("aaaa bbbb cccc dddd eeee", 19, len) == ["aaaa bbbb cccc", "dddd eeee"]
    assert not has_orphan_lines(wrap_text("one two three four", 14, len))
    assert wrap_text("one two three four", 14, len) == ["one two", "three four"]


def test_an_unavoidable_orphan_stands():
    assert wrap_text("unbreakable words", 12, len) == ["unbreakable", "words"]


def test_has_orphan_reads_line_spans():
    assert has_orphan([(0, 3, 10.0), (3, 4, 2.0)])
    assert not has_orphan([(0, 3, 10.0), (3, 5, 2.0)])
    assert not has_orphan([(0, 1, 10.0)])


@pytest.mark.parametrize("theme", THEMES)
def test_the_same_maxim_and_theme_give_the_same_bytes(theme):
    maxim = CORPUS.get(21)
    assert render_card(maxim, theme) == render_card(maxim, theme)


def test_a_fresh_process_draws_the_same_bytes():
    numbers = [21, 34, 8]
    code = (
        "import hashlib\n"
        "from bot.cards import render_card\n"
        "from maxims import load_corpus\n"
        f"for n in {numbers}:\n"
        "    for t in ('light', 'dark'):\n"
        "        print(hashlib.sha256(render_card(load_corpus().get(n), t)).hexdigest())\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    here = [
        hashlib.sha256(render_card(CORPUS.get(n), t)).hexdigest()
        for n in numbers
        for t in ("light", "dark")
    ]
    assert done.stdout.split() == here
    assert len(set(here)) == len(here)


def test_an_opening_quote_hangs_in_the_margin_so_the_letters_align():
    quoted, plain = CORPUS.get(42), CORPUS.get(34)
    assert quoted.text.startswith("“")
    hung = drawn_box(render_card(quoted), "light")[0]
    flush = drawn_box(render_card(plain), "light")[0]  # the label's "M" sets it
    assert EDGE <= hung < flush - 10


def test_newlines_and_tabs_in_a_text_are_spaces_on_the_card():
    plain = Maxim(5, "Train first, then ask questions about the loss curve.")
    messy = Maxim(5, "Train first,\nthen ask\tquestions  about the loss curve.")
    assert layout(messy).lines == layout(plain).lines
    assert render_card(messy) == render_card(plain)


@pytest.mark.parametrize(
    "text",
    [
        " ".join(["overlong"] * 240),  # 2,000 characters: more lines than the card holds
        "a" * 300,  # one word wider than the card
        "short " + "b" * 300 + " words",
    ],
    ids=["many-words", "one-giant-word", "a-giant-word-inside"],
)
def test_a_text_too_long_for_any_size_is_cut_with_an_ellipsis_inside_the_margins(text):
    maxim = Maxim(7, text)
    placed = layout(maxim)
    assert not placed.fits
    assert any(line.endswith("…") for line in placed.lines)
    left, top, right, bottom = drawn_box(render_card(maxim), "light")
    assert min(left, top, WIDTH - right, HEIGHT - bottom) >= EDGE, (left, top, right, bottom)
