"""The public pages' addresses (``web.public_url``), as Slack messages use them.

With ``[web] public_url`` set, a card is shown in Slack as an ``image`` block whose picture
Slack fetches from ``{public_url}/cards/N.png`` (nothing uploaded, no ``files:write``), and a
maxim links to its page, ``{public_url}/maxims/N``, which unfurls as its card (the page's
OpenGraph tags). The bot's web server serves both paths; without ``public_url`` the cards are
uploaded as before (`bot.platforms.slack.cards`) and no message links anywhere.

Slack has no card theme to choose, so the card is always the default (light) one: no
``?theme=`` in the URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from maxims import Maxim


class PublicPages:
    """The addresses under `public_url` (checked by the config: https, no trailing slash)."""

    __slots__ = ("public_url",)

    def __init__(self, public_url: str) -> None:
        self.public_url = public_url.rstrip("/")

    def card(self, maxim: Maxim) -> str:
        """``https://maxims.example.org/cards/34.png``: the card Slack shows in an image block."""
        return f"{self.public_url}/cards/{maxim.number}.png"

    def page(self, maxim: Maxim) -> str:
        """``https://maxims.example.org/maxims/34``: the maxim's page, whose link unfurls."""
        return f"{self.public_url}/maxims/{maxim.number}"


def public_pages(public_url: str | None) -> PublicPages | None:
    """The pages at `public_url` (``web.public_url``), or None where none is configured."""
    return PublicPages(public_url) if public_url else None
