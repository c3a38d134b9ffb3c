"""Each page is rendered once and kept; a failure of ours is a friendly 500 with a reference."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from bot.cards import CardCache
from bot.config import ServerConfig, WebConfig
from bot.web.pages import Pages
from bot.web.serving import serve_pages
from bot.web.site import Site
from maxims import load_corpus
from tests.web.reading import Page, ask

CORPUS = load_corpus()
SITE = Site("https://maxims.example.org")


def test_a_page_is_rendered_once_and_kept():
    pages = Pages(CORPUS, SITE)
    maxim = CORPUS.get(34)
    assert pages.maxim(maxim) is pages.maxim(maxim)
    assert pages.index() is pages.index()
    assert pages.privacy() is pages.privacy() and pages.support() is pages.support()
    assert pages.error(404) is pages.error(404)


def test_the_landing_page_is_kept_for_its_day_only():
    pages = Pages(CORPUS, SITE)
    day = dt.date(2026, 12, 5)
    first = pages.home(day)
    assert pages.home(day) is first
    assert pages.home(day + dt.timedelta(days=1)) is not first


def test_equal_bytes_get_equal_etags_across_processes():
    """The ETag is a digest of the bytes, not a counter: every process sends the same one."""
    one, other = Pages(CORPUS, SITE), Pages(CORPUS, SITE)
    maxim = CORPUS.get(7)
    assert one.maxim(maxim).etag == other.maxim(maxim).etag
    assert one.maxim(maxim).etag != one.maxim(CORPUS.get(8)).etag


class BrokenCards(CardCache):
    """A card cache whose drawing fails, as a bug of ours would."""

    async def png(self, maxim, theme="light"):
        raise RuntimeError("secret detail of the failure")


async def test_a_failure_of_ours_is_a_friendly_500_with_a_reference(caplog):
    config = WebConfig(enabled=True, port=0, public_url="http://127.0.0.1:1")
    async with serve_pages(
        config, SITE, corpus=CORPUS, cards=BrokenCards(), limits=ServerConfig()
    ) as served:
        base = f"http://127.0.0.1:{served.port}"
        with caplog.at_level(logging.ERROR, logger="bot.web"):
            reply = await asyncio.to_thread(ask, base, "/cards/34.png")
    assert reply.status == 500
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    assert "Something went wrong on my side" in Page(reply.text).text
    assert "secret detail" not in reply.text and "Traceback" not in reply.text
    assert reply.headers["x-content-type-options"] == "nosniff"
    [record] = [r for r in caplog.records if r.name == "bot.web.responses"]
    assert "'/cards/34.png' failed (ref " in record.getMessage()
