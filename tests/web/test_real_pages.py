"""The real pages meet the issue's quality bars: valid HTML, and right in a real browser.

Every page passes the W3C Nu HTML Checker with no error (one JVM start for them all), and
``/`` and ``/maxims/34`` in headless Chromium at 375 px (a small phone) show the maxim's text
and its card (the image loaded, a screenshot that is not blank), need no sideways scroll, log
no error to the console and ask nothing of any host but 127.0.0.1. The pages are the app
itself, served by ``web_base_url`` (tests/web/conftest.py). Locally these tests skip with an
install hint where Java, vnu.jar or Chromium is missing; under CI they fail.
"""

from __future__ import annotations

import asyncio

import pytest

from maxims import load_corpus
from tests.web.tools import Visit, chromium, chromium_path, fetch, html_checker

# One worker runs every browser and checker test: two Chromiums or JVMs at once on two
# cores would only slow each other down.
pytestmark = [pytest.mark.child_process, pytest.mark.xdist_group("browser")]

CORPUS = load_corpus()
PAGES = {
    "/": 200,
    "/maxims": 200,
    "/maxims/34": 200,
    "/privacy": 200,
    "/support": 200,
    "/maxims/71": 404,  # the friendly 404 page
}
IN_BROWSER = ("/", "/maxims/34")
PHONE = 375


def words(text: str) -> str:
    """`text` with its whitespace runs made single spaces (innerText breaks lines its own way)."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def visits(web_base_url: str) -> dict[str, Visit]:
    """``/`` and ``/maxims/34`` opened once each in one Chromium, 375 px wide."""
    path = chromium_path()

    async def visit_all() -> dict[str, Visit]:
        async with chromium(path) as browser:
            return {
                page: await browser.visit(web_base_url + page, width=PHONE) for page in IN_BROWSER
            }

    return asyncio.run(visit_all())


def test_every_page_is_valid_html(web_base_url):
    checker = html_checker()
    fetched = {path: fetch(web_base_url + path) for path in PAGES}

    assert {path: status for path, (status, _) in fetched.items()} == PAGES
    errors = checker.errors({path: text for path, (_, text) in fetched.items()})
    assert errors == {path: [] for path in PAGES}


def test_a_maxims_page_shows_its_text_and_its_card(visits):
    visit = visits["/maxims/34"]
    maxim = CORPUS.get(34)
    assert maxim is not None

    assert visit.status == 200
    assert words(maxim.text) in words(visit.text)
    cards = visit.pictures_at("/cards/34.png")
    assert cards, f"no <img> of /cards/34.png among {visit.pictures}"
    assert all(card.loaded for card in cards), cards


def test_the_landing_page_shows_a_maxim_and_its_card(visits):
    visit = visits["/"]
    shown = [maxim for maxim in CORPUS if words(maxim.text) in words(visit.text)]

    assert visit.status == 200
    assert shown, f"no maxim's text on /: {visit.text[:500]!r}"
    cards = [card for maxim in shown for card in visit.pictures_at(f"/cards/{maxim.number}.png")]
    assert cards, f"no card of maxim {[m.number for m in shown]} among {visit.pictures}"
    assert all(card.loaded for card in cards), cards


@pytest.mark.parametrize("page", IN_BROWSER)
def test_the_page_draws_something(visits, page):
    assert not visits[page].blank, f"{page}'s screenshot is all one colour"


@pytest.mark.parametrize("page", IN_BROWSER)
def test_the_page_fits_a_phone_without_sideways_scroll(visits, page):
    visit = visits[page]

    assert visit.inner_width == PHONE
    assert not visit.scrolls_horizontally, (
        f"{page} is {visit.scroll_width} px wide in a {PHONE} px window"
    )


@pytest.mark.parametrize("page", IN_BROWSER)
def test_the_page_asks_nothing_of_another_host(visits, page):
    assert visits[page].requests, "the browser recorded no request at all"
    assert visits[page].off_host_requests == []


@pytest.mark.parametrize("page", IN_BROWSER)
def test_the_page_logs_no_error_to_the_console(visits, page):
    # A CSP violation (an inline style or script the policy refuses), a missing file or a
    # script error all land here.
    assert visits[page].console_errors == ()
