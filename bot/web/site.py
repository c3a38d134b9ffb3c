"""What the pages need to know beyond the maxims: the public address, the buttons, support.

Plain data with no import of aiohttp or Jinja2, so the composition root can build it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from maxims.model import Maxim

CARD_WIDTH, CARD_HEIGHT = 1200, 630


@dataclass(frozen=True)
class Site:
    """What the pages need to know beyond the maxims.

    `slack_install` and `discord_invite` are the two buttons' targets, or None to leave the
    button out (bootstrap works them out: the Discord invite needs discord.py to build).
    """

    public_url: str
    slack_install: str | None = None
    discord_invite: str | None = None
    support_url: str | None = None
    contact: str | None = None
    keep_days: int = 400


@dataclass(frozen=True)
class Card:
    """A maxim's card as the pages show it: where, its size and its alt text."""

    path: str
    dark_path: str
    alt: str
    width: int = CARD_WIDTH
    height: int = CARD_HEIGHT


def card_of(maxim: Maxim) -> Card:
    """Where the pages find `maxim`'s card, light and dark, and its alt text."""
    from bot.cards import alt_text

    path = f"/cards/{maxim.number}.png"
    return Card(path, f"{path}?theme=dark", alt_text(maxim))
