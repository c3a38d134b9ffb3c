"""Serving the pages for as long as the bot runs: `serve_pages`, for `bot.runner`.

aiohttp and Jinja2 load only when ``[web] enabled = true``. The pages listen on
``web.host:web.port`` through `bot.listen`, with the same connection cap, timeouts and
anonymous ``Server`` header as the Slack HTTP server and the probes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

    from bot.cards import CardCache
    from bot.config import ServerConfig, WebConfig
    from bot.web.site import Site
    from maxims import Corpus

log = logging.getLogger(__name__)

STOP_TIMEOUT = 2.0


@dataclass
class Web:
    """The running pages (`port` None when off), or why they could not start."""

    port: int | None = None
    problem: str | None = None


def utc_today() -> dt.date:
    """Today's date in UTC: the landing page's maxim of the day turns at UTC midnight."""
    return dt.datetime.now(dt.UTC).date()


def build_web_app(
    corpus: Corpus,
    site: Site,
    cards: CardCache,
    *,
    today: Callable[[], dt.date] = utc_today,
) -> web.Application:
    """The pages' app over `corpus`, not yet listening (the tests and the bench use it too)."""
    from bot.web.pages import Pages
    from bot.web.routes import Routes, build_app

    return build_app(Routes(Pages(corpus, site), corpus, cards, today=today))


@contextlib.asynccontextmanager
async def serve_pages(
    config: WebConfig,
    site: Site | None,
    *,
    corpus: Corpus,
    cards: CardCache,
    limits: ServerConfig,
    today: Callable[[], dt.date] = utc_today,
) -> AsyncIterator[Web]:
    """Serve the pages inside the block, if ``[web]`` is enabled (`site` is None when off).

    A port that cannot be bound is not raised but handed back as `Web.problem`, so the
    runner ends with its usual one line and exit status 2.
    """
    served = Web()
    if not config.enabled or site is None:
        yield served
        return
    from bot.listen import listen
    from bot.web.responses import SECURITY_HEADERS

    try:
        runner, served.port = await listen(
            build_web_app(corpus, site, cards, today=today),
            config.host,
            config.port,
            name="pages",
            keys="web.host / web.port",
            shutdown_timeout=STOP_TIMEOUT,
            limits=limits,
            logger=log,
            headers=SECURITY_HEADERS,
        )
    except OSError as err:
        served.problem = f"pages: {err}"
        yield served
        return
    log.info("pages on http://%s:%d, public at %s", config.host, served.port, site.public_url)
    try:
        yield served
    finally:
        await runner.cleanup()
