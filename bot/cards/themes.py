"""The card's colour themes: data only, so tests check their contrast without drawing."""

from __future__ import annotations

Rgb = tuple[int, int, int]

THEMES: tuple[str, ...] = ("light", "dark")
"""The card themes, the default first; `PALETTE` has one `Theme` for each (a test checks)."""


class Theme:
    """The colours of one theme: the background and the three kinds of text on it."""

    __slots__ = ("name", "background", "text", "label", "footer")

    def __init__(self, name: str, background: Rgb, text: Rgb, label: Rgb, footer: Rgb) -> None:
        self.name = name
        self.background = background
        self.text = text  # the maxim's words
        self.label = label  # "Maxim 34"
        self.footer = footer  # the collection's title, quieter but still AAA (>= 7:1)


# Warm paper and ink; a night version of the same. Every text colour is WCAG AAA (>= 7:1)
# on its background: tests/bot/cards/test_themes.py computes the ratios.
PALETTE: dict[str, Theme] = {
    "light": Theme("light", (250, 248, 243), (28, 27, 26), (122, 50, 16), (79, 76, 71)),
    "dark": Theme("dark", (23, 25, 30), (243, 241, 236), (240, 178, 112), (180, 177, 170)),
}
