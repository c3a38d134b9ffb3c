"""Line breaking for the card: words wrapped by their measured width, with no orphan.

Pure and Pillow-free: the caller passes in how wide a word is (`measure`), so the
typesetting rules are tested without drawing, and the renderer can measure with whatever
font and size it is trying. A line is as wide as its words and the spaces between them:
true of the renderer's basic layout, which kerns no pair across a space (and Inter's kerning
lives in GPOS, which basic layout does not apply at all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Measure = Callable[[str], float]
"""The advance width in pixels of a word (or a space), in the font being tried."""


class Words:
    """A text's words with their widths, measured once for all the widths tried."""

    def __init__(self, text: str, measure: Measure) -> None:
        # Any whitespace separates words: a newline or tab drawn as is would start a line of
        # Pillow's own, outside this layout.
        self.words = text.split()
        self.widths = [measure(word) for word in self.words]
        self.space = measure(" ")

    def widest(self) -> float:
        """The widest single word: no line can be narrower."""
        return max(self.widths, default=0.0)

    def fill(self, width: float) -> list[tuple[int, int, float]]:
        """Greedy lines no wider than `width`: (first word, end word, line width) each.

        A word wider than `width` still gets a line of its own; the caller compares
        `widest()` with the measure and tries a smaller size.
        """
        lines: list[tuple[int, int, float]] = []
        start, used = 0, 0.0
        for index, word_width in enumerate(self.widths):
            if index == start:
                used = word_width
            elif used + self.space + word_width > width:
                lines.append((start, index, used))
                start, used = index, word_width
            else:
                used += self.space + word_width
        if self.words:
            lines.append((start, len(self.words), used))
        return lines

    def text(self, lines: Sequence[tuple[int, int, float]]) -> list[str]:
        """The lines as strings."""
        return [" ".join(self.words[start:end]) for start, end, _ in lines]


def has_orphan(lines: Sequence[tuple[int, int, float]]) -> bool:
    """Whether the last of several lines holds a single word (a typesetter's orphan)."""
    return len(lines) > 1 and lines[-1][1] - lines[-1][0] == 1


def wrap(words: Words, width: float) -> list[tuple[int, int, float]]:
    """The words' lines at `width`, balanced when greedy filling would leave an orphan.

    Balancing keeps the same number of lines and narrows the measure until one more
    narrowing would need another line (as CSS's ``text-wrap: balance`` does); that moves
    words down onto the last line. When even that leaves one word alone (a two-word text,
    say), the greedy lines stand: an orphan that cannot be avoided is no reason to shrink.
    """
    lines = words.fill(width)
    if not has_orphan(lines):
        return lines
    low, high = words.widest(), width
    best = lines
    # Bisect on the width: 12 halvings of a ~1,000 px measure land within a pixel.
    for _ in range(12):
        middle = (low + high) / 2
        trial = words.fill(middle)
        if len(trial) <= len(lines):
            high, best = middle, trial
        else:
            low = middle
    return best if not has_orphan(best) else lines


def wrap_text(text: str, width: float, measure: Measure) -> list[str]:
    """`text` wrapped at `width` as lines of text (for tests and simple callers)."""
    words = Words(text, measure)
    return words.text(wrap(words, width))
