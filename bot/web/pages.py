"""Every page, rendered with Jinja2 (autoescaping on) and each kept once rendered.

A maxim's page, the list and the fixed pages never change while the bot runs: each is
rendered on its first request and its bytes (and their ETag) are kept. The landing page shows
the maxim of the day, so it is kept per UTC date. Every absolute address (``og:url``,
``og:image``, the canonical link, the "copy link" field) is built on ``web.public_url``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jinja2

from bot.web.site import Site, card_of

if TYPE_CHECKING:
    from maxims import Corpus
    from maxims.model import Maxim


@dataclass(frozen=True)
class Page:
    """A rendered page: its bytes and their strong ETag."""

    body: bytes
    etag: str


def page(body: bytes) -> Page:
    """`body` with its ETag: a digest of the bytes, so equal bytes always get the same one."""
    return Page(body, hashlib.blake2b(body, digest_size=12).hexdigest())


def build_environment() -> jinja2.Environment:
    """Jinja2 over the package's own templates, escaping every value it is given."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("bot.web", "templates"),
        autoescape=True,  # every template is HTML: escape everything, whatever the file name
        undefined=jinja2.StrictUndefined,  # a misspelt name fails the tests, not a visitor
        trim_blocks=True,
        lstrip_blocks=True,
    )


class Pages:
    """Every page as bytes, rendered once (the landing page once per UTC day)."""

    def __init__(self, corpus: Corpus, site: Site) -> None:
        self.corpus = corpus
        self.site = site
        self.env = build_environment()
        self._kept: dict[str, Page] = {}
        self._home: tuple[dt.date, Page] | None = None

    def _render(self, template: str, path: str | None, **values: Any) -> Page:
        """`template` as bytes; `path` is the page's own (None: an error page, which has none)."""
        html = self.env.get_template(template).render(
            site=self.site,
            path=path,
            url=None if path is None else self.site.public_url + path,
            size=len(self.corpus),
            **values,
        )
        return page(html.encode())

    def _kept_page(self, key: str, template: str, **values: Any) -> Page:
        kept = self._kept.get(key)
        if kept is None:
            path = key if key.startswith("/") else None
            kept = self._kept[key] = self._render(template, path, **values)
        return kept

    def home(self, today: dt.date) -> Page:
        """The landing page on `today` (UTC): what the bot does and the maxim of the day.

        The maxim of the day is the core's for the date with no channel, what ``/maxim
        today`` shows where no daily post is set.
        """
        if self._home is None or self._home[0] != today:
            maxim = self.corpus.for_day(today)
            self._home = (today, self._render("home.html", "/", maxim=maxim, card=card_of(maxim)))
        return self._home[1]

    def maxim(self, maxim: Maxim) -> Page:
        """A maxim's own page, with the tags that make its link unfurl as its card."""
        size = len(self.corpus)
        return self._kept_page(
            f"/maxims/{maxim.number}",
            "maxim.html",
            maxim=maxim,
            card=card_of(maxim),
            previous=self.corpus.maxims[(maxim.number - 2) % size],
            following=self.corpus.maxims[maxim.number % size],
        )

    def index(self) -> Page:
        """All the maxims, each with its number, each a link to its page."""
        return self._kept_page("/maxims", "maxims.html", maxims=self.corpus.maxims)

    def privacy(self) -> Page:
        """What the bot keeps, for how long, what it never keeps, and how to delete it."""
        return self._kept_page("/privacy", "privacy.html")

    def support(self) -> Page:
        """Where to ask."""
        return self._kept_page("/support", "support.html")

    def error(self, status: int) -> Page:
        """The friendly page of a 404 (or 405, or 500), in the site's style."""
        return self._kept_page(f"error:{status}", "error.html", status=status)
