"""The files the pages load, each at a fixed address: the stylesheet, icons and fonts.

Only the files listed here are ever served, each read from inside the package (the fonts
from `bot.cards`, which draws the cards with them): no path from a request reaches the file
system, so no address, however encoded, can name a file outside the app's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

TEXT = "; charset=utf-8"


@dataclass(frozen=True)
class Asset:
    """A file the pages load: the package it is in, its name there, and its media type."""

    package: str
    name: str
    content_type: str

    def read(self) -> bytes:
        """The file's bytes, from inside the installed package."""
        return resources.files(self.package).joinpath(self.name).read_bytes()


ASSETS: dict[str, Asset] = {
    "/static/site.css": Asset("bot.web", "static/site.css", "text/css" + TEXT),
    "/static/icon.svg": Asset("bot.web", "static/icon.svg", "image/svg+xml"),
    "/static/slack-mark.svg": Asset("bot.web", "static/slack-mark.svg", "image/svg+xml"),
    "/static/discord-mark.svg": Asset("bot.web", "static/discord-mark.svg", "image/svg+xml"),
    "/static/fonts/Inter-Regular.otf": Asset("bot.cards", "fonts/Inter-Regular.otf", "font/otf"),
    "/static/fonts/Inter-Bold.otf": Asset("bot.cards", "fonts/Inter-Bold.otf", "font/otf"),
    "/static/fonts/LICENSE.txt": Asset("bot.cards", "fonts/LICENSE.txt", "text/plain" + TEXT),
    "/robots.txt": Asset("bot.web", "static/robots.txt", "text/plain" + TEXT),
}
"""Every file served, by its address."""
