"""The pages' routes: `build_app` wires each address to what it serves.

``/``, ``/maxims``, ``/maxims/{n}``, ``/cards/{n}.png`` (``?theme=dark``), ``/privacy``,
``/support`` and the files of `bot.web.assets`. Every route answers GET and HEAD; anything
else is a friendly 405, and any other address a friendly 404 (`bot.web.responses`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from bot.cards import THEMES
from bot.web.assets import ASSETS, Asset
from bot.web.responses import IMMUTABLE, error_pages, send, send_page

if TYPE_CHECKING:
    from bot.cards import CardCache
    from bot.web.pages import Pages
    from maxims import Corpus
    from maxims.model import Maxim

NUMBER = r"{number:[1-9][0-9]{0,2}}"
"""A maxim's number as its address writes it: no sign, no leading zero (``034`` is no page)."""
FILE_CACHE = "public, max-age=86400"


class Routes:
    """The handlers, over the pages, the cards and the files, each kept once made."""

    def __init__(
        self,
        pages: Pages,
        corpus: Corpus,
        cards: CardCache,
        *,
        today: Callable[[], dt.date],
    ) -> None:
        self.pages = pages
        self.corpus = corpus
        self.cards = cards
        self.today = today
        self._etags: dict[tuple[int, str], str] = {}
        self._files: dict[str, tuple[bytes, str]] = {}

    def _maxim(self, request: web.Request) -> Maxim:
        maxim = self.corpus.get(int(request.match_info["number"]))
        if maxim is None:
            raise web.HTTPNotFound
        return maxim

    async def on_home(self, request: web.Request) -> web.Response:
        """The landing page, with today's maxim (UTC)."""
        return send_page(request, self.pages.home(self.today()))

    async def on_index(self, request: web.Request) -> web.Response:
        """All the maxims."""
        return send_page(request, self.pages.index(), cache="public, max-age=3600")

    async def on_maxim(self, request: web.Request) -> web.Response:
        """One maxim's page."""
        return send_page(
            request, self.pages.maxim(self._maxim(request)), cache="public, max-age=3600"
        )

    async def on_privacy(self, request: web.Request) -> web.Response:
        """What the bot keeps."""
        return send_page(request, self.pages.privacy(), cache="public, max-age=3600")

    async def on_support(self, request: web.Request) -> web.Response:
        """Where to ask."""
        return send_page(request, self.pages.support(), cache="public, max-age=3600")

    async def on_card(self, request: web.Request) -> web.Response:
        """A maxim's card as PNG, light or (``?theme=dark``) dark; drawn once, then kept."""
        maxim = self._maxim(request)
        theme = request.query.get("theme", THEMES[0])
        if theme not in THEMES:
            raise web.HTTPNotFound
        png = await self.cards.png(maxim, theme)
        key = (maxim.number, theme)
        etag = self._etags.get(key)
        if etag is None:
            etag = self._etags[key] = hashlib.blake2b(png, digest_size=12).hexdigest()
        return send(request, png, etag, content_type="image/png", cache=IMMUTABLE)

    def file_handler(
        self, path: str, asset: Asset
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The handler of one file of `ASSETS`, read on its first request and then kept."""

        async def on_file(request: web.Request) -> web.Response:
            kept = self._files.get(path)
            if kept is None:
                body = asset.read()
                kept = self._files[path] = (body, hashlib.blake2b(body, digest_size=12).hexdigest())
            return send(
                request, kept[0], kept[1], content_type=asset.content_type, cache=FILE_CACHE
            )

        return on_file


def build_app(routes: Routes) -> web.Application:
    """The pages' aiohttp app, not yet listening: `bot.web.serving` serves it with the headers."""
    app = web.Application(middlewares=[error_pages(routes.pages)])
    add = app.router.add_get  # GET, and HEAD with it
    add("/", routes.on_home)
    add("/maxims", routes.on_index)
    add(f"/maxims/{NUMBER}", routes.on_maxim)
    add(f"/cards/{NUMBER}.png", routes.on_card)
    add("/privacy", routes.on_privacy)
    add("/support", routes.on_support)
    for path, asset in ASSETS.items():
        add(path, routes.file_handler(path, asset))
    return app
