"""The checking tools can fail: each one finds the fault in a stand-in page made to have it.

The stand-in pages are served by aiohttp on 127.0.0.1 from this module; Chromium visits
each once (one browser for the module) and the tests read the visits. Locally these tests
skip with an install hint where Chromium, Java or vnu.jar is missing; under CI they fail.
"""

from __future__ import annotations

import asyncio
import io

import pytest
from aiohttp import web
from PIL import Image

from tests.web.tools import (
    CheckerError,
    HtmlChecker,
    Visit,
    chromium,
    chromium_path,
    html_checker,
    html_errors,
    is_blank,
)

pytestmark = [pytest.mark.child_process, pytest.mark.xdist_group("browser")]

THIRD_PARTY_FONT = "https://fonts.googleapis.com/css2?family=Inter"


def page(title: str, body: str, head: str = "") -> str:
    """A valid HTML document: the stand-ins differ only where a test needs them to."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title>{head}</head><body>{body}</body></html>"
    )


TEXT = "Wisdom is rarely found on the first page."
PAGES = {
    "/text": page("Text", f"<p>{TEXT}</p><p hidden>a hidden line</p>"),
    "/blank": page("Blank", ""),
    "/wide": page("Wide", f'<p>{TEXT}</p><div style="width: 600px; height: 8px"></div>'),
    "/pictures": page(
        "Pictures",
        '<img src="/dot.png" alt="a dot" width="4" height="4">'
        '<img src="/missing.png" alt="nothing" width="4" height="4">'
        '<img src="/dot.png?lazy" alt="a lazy dot" loading="lazy" width="4" height="4" '
        'style="margin-top: 3000px">',
    ),
    "/third-party": page(
        "Font", f"<p>{TEXT}</p>", head=f'<link rel="stylesheet" href="{THIRD_PARTY_FONT}">'
    ),
    "/script-error": page("Error", f"<p>{TEXT}</p><script>throw new Error('boom');</script>"),
}


def dot_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "crimson").save(out, format="PNG")
    return out.getvalue()


async def serve_and_visit(browser_path: str) -> dict[str, Visit]:
    """Serve the stand-ins on 127.0.0.1 and visit each at 375 px in one Chromium."""
    dot = dot_png()

    async def html(request: web.Request) -> web.Response:
        return web.Response(text=PAGES[request.path], content_type="text/html")

    async def png(request: web.Request) -> web.Response:
        return web.Response(body=dot, content_type="image/png")

    app = web.Application()
    app.router.add_get("/dot.png", png)
    for path in PAGES:
        app.router.add_get(path, html)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        async with chromium(browser_path) as browser:
            return {
                path: await browser.visit(f"http://127.0.0.1:{port}{path}", width=375)
                for path in PAGES
            }
    finally:
        await runner.cleanup()


@pytest.fixture(scope="module")
def visits() -> dict[str, Visit]:
    return asyncio.run(serve_and_visit(chromium_path()))


def test_the_html_checker_reports_each_documents_errors_and_none_in_a_valid_one():
    found = html_checker().errors(
        {
            "valid": PAGES["/text"],
            "unclosed": page("Unclosed", "<p><div>a block in a paragraph</p>"),
            "untitled": PAGES["/text"].replace("<title>Text</title>", ""),
        }
    )

    assert found["valid"] == []
    assert found["unclosed"], "a <div> left open is an error"
    assert all("title" not in error for error in found["unclosed"]), found["unclosed"]
    assert any("“title”" in error for error in found["untitled"]), found["untitled"]


def test_html_errors_checks_one_document():
    assert html_errors(PAGES["/text"].replace('<html lang="en">', "<html><html>")) != []


def test_a_checker_that_cannot_run_is_an_error_not_a_pass(tmp_path):
    checker = HtmlChecker(html_checker().java, tmp_path / "no-such-vnu.jar")

    with pytest.raises(CheckerError, match="without a JSON report"):
        checker.errors({"valid": PAGES["/text"]})


def test_the_browser_sees_a_page_wider_than_the_window(visits):
    assert visits["/wide"].scrolls_horizontally
    assert visits["/wide"].scroll_width >= 600
    assert not visits["/text"].scrolls_horizontally
    assert visits["/text"].inner_width == 375


def test_a_blank_page_makes_a_blank_screenshot_and_text_does_not(visits):
    assert visits["/blank"].blank
    assert not visits["/text"].blank
    assert visits["/text"].screenshot.startswith(b"\x89PNG")


def test_is_blank_reads_the_colours_of_a_png():
    one_colour, two_colours = io.BytesIO(), io.BytesIO()
    image = Image.new("RGB", (20, 10), "white")
    image.save(one_colour, format="PNG")
    image.putpixel((19, 9), (250, 250, 250))
    image.save(two_colours, format="PNG")

    assert is_blank(one_colour.getvalue())
    assert not is_blank(two_colours.getvalue())


def test_the_visible_text_leaves_out_what_is_hidden(visits):
    assert TEXT in visits["/text"].text
    assert "hidden" not in visits["/text"].text


def test_an_image_counts_as_loaded_only_when_it_did_lazy_ones_included(visits):
    pictures = visits["/pictures"]

    assert [picture.loaded for picture in pictures.pictures_at("/dot.png")] == [True, True]
    assert [picture.loaded for picture in pictures.pictures_at("/missing.png")] == [False]


def test_a_request_to_another_host_is_recorded_and_refused(visits):
    font = visits["/third-party"]

    assert font.off_host_requests == [THIRD_PARTY_FONT]
    assert font.requests[0] == font.url
    assert visits["/text"].off_host_requests == []
    assert any("ERR_BLOCKED_BY_CLIENT" in error for error in font.console_errors)


def test_a_script_error_reaches_the_console_errors(visits):
    assert any("boom" in error for error in visits["/script-error"].console_errors)
    assert visits["/text"].console_errors == ()
    assert visits["/text"].status == 200
