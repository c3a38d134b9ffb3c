"""Read the cards as a person would: OCR (Debian's tesseract) must find the maxim's words.

Checks what no pixel test does: that the words are legible, in order, not clipped, and that
the glyphs drawn are the right ones. Locally these tests skip with an install hint when
tesseract is missing; under CI they fail instead (tests.helpers.missing_program).
"""

import re
import shutil
import subprocess

import pytest
from rapidfuzz import fuzz

from bot.cards import render_card
from bot.cards.draw import FOOTER
from maxims import load_corpus
from tests.helpers import missing_program

CORPUS = load_corpus()
TESSERACT_HINT = (
    "tesseract is not installed: `apt-get install tesseract-ocr` (or run "
    ".ci/test-packages.sh) to read the cards back with OCR"
)
# 21: the longest; 8 and 40: em dashes; 42: curly quotes; 34: an apostrophe.
CARDS = [(21, "light"), (21, "dark"), (8, "light"), (40, "dark"), (42, "dark"), (34, "light")]
# The issue asks for a ratio of 90 at least; tesseract reads these cards at 99-100, and a card
# whose lines run off its right edge (a break tried on purpose) still scores 94: so 95.
LEGIBLE = 95
SAME = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "—": "-", "–": "-"})


@pytest.fixture(scope="module")
def tesseract():
    path = shutil.which("tesseract")
    if path is None:
        missing_program(TESSERACT_HINT, "the cards' OCR tests")
    return path


def normalise(text):
    """Quotes straightened, dashes alike, spacing around dashes and lines collapsed."""
    text = text.translate(SAME).replace("…", "...")
    text = re.sub(r"\s*-\s*", " - ", text)
    return " ".join(text.split())


def read_card(tesseract, png, tmp_path):
    """The card's blocks of text as tesseract reads them, each as one line.

    Automatic page segmentation (--psm 3, tesseract's default): the card has three blocks of
    three sizes, and treating it as one uniform block (--psm 6) loses the small footer.
    """
    path = tmp_path / "card.png"
    path.write_bytes(png)
    done = subprocess.run(
        [tesseract, str(path), "-", "--psm", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    blocks = re.split(r"\n\s*\n", done.stdout.strip())
    return [" ".join(block.split()) for block in blocks]


@pytest.mark.parametrize(("number", "theme"), CARDS)
def test_ocr_reads_the_label_the_maxim_and_the_footer(tesseract, tmp_path, number, theme):
    maxim = CORPUS.get(number)
    blocks = read_card(tesseract, render_card(maxim, theme), tmp_path)
    assert len(blocks) == 3, blocks
    label, body, footer = blocks
    assert fuzz.ratio(normalise(label), f"Maxim {number}") >= 90, label
    assert fuzz.ratio(normalise(body), normalise(maxim.text)) >= LEGIBLE, body
    assert fuzz.ratio(normalise(footer), FOOTER) >= 90, footer
