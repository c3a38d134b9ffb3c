"""Security headers on every answer; cards and pages cached by ETag; real 1200×630 PNGs."""

from __future__ import annotations

import re

import pytest

from tests.fakes.images import png_size
from tests.web.reading import Page, ask

ANSWERS = [
    ("GET", "/", {}),
    ("GET", "/maxims", {}),
    ("GET", "/maxims/34", {}),
    ("GET", "/privacy", {}),
    ("GET", "/support", {}),
    ("GET", "/cards/34.png", {}),
    ("GET", "/cards/34.png?theme=dark", {}),
    ("GET", "/static/site.css", {}),
    ("GET", "/static/fonts/Inter-Bold.otf", {}),
    ("HEAD", "/maxims/34", {}),
    ("GET", "/maxims/71", {}),
    ("GET", "/static/%2e%2e/pages.py", {}),
    ("POST", "/maxims/34", {"Content-Length": "0"}),
    ("GET", "/cards/34.png", {"If-None-Match": "*"}),
    ("GET", "/" + "a" * 9000, {}),  # aiohttp's own 400: the line is past its limit
]


@pytest.mark.parametrize(("method", "path", "headers"), ANSWERS, ids=lambda v: str(v)[:30])
def test_every_answer_carries_the_security_headers(web_base_url, method, path, headers):
    reply = ask(web_base_url, path, method, headers)
    csp = reply.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert "script-src" not in directives  # so no script runs at all, inline or not
    assert "unsafe-inline" not in csp and "http" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert reply.server_headers == []  # no "Server: Python/3.x aiohttp/3.x"


@pytest.mark.parametrize("path", ["/cards/34.png", "/cards/34.png?theme=dark", "/cards/1.png"])
def test_a_card_is_a_real_1200_by_630_png_cached_for_a_day_as_immutable(web_base_url, path):
    reply = ask(web_base_url, path)
    assert reply.status == 200
    assert reply.headers["content-type"] == "image/png"
    assert png_size(reply.body) == (1200, 630)
    assert reply.headers["cache-control"] == "public, max-age=86400, immutable"


def test_the_dark_card_is_another_picture(web_base_url):
    light, dark = ask(web_base_url, "/cards/34.png"), ask(web_base_url, "/cards/34.png?theme=dark")
    assert light.body != dark.body
    assert light.headers["etag"] != dark.headers["etag"]


@pytest.mark.parametrize("path", ["/cards/34.png", "/maxims/34", "/", "/static/site.css"])
def test_a_strong_etag_answers_304_without_a_body(web_base_url, path):
    first = ask(web_base_url, path)
    etag = first.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{24}"', etag)  # strong: no W/
    again = ask(web_base_url, path, headers={"If-None-Match": etag})
    assert (again.status, again.body) == (304, b"")
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == first.headers["cache-control"]
    listed = ask(web_base_url, path, headers={"If-None-Match": f'"other", {etag}'})
    assert listed.status == 304


def test_another_etag_gets_the_whole_card(web_base_url):
    reply = ask(web_base_url, "/cards/34.png", headers={"If-None-Match": '"0000"'})
    assert reply.status == 200
    assert png_size(reply.body) == (1200, 630)


def test_the_same_card_keeps_its_etag(web_base_url):
    assert (
        ask(web_base_url, "/cards/7.png").headers["etag"]
        == ask(web_base_url, "/cards/7.png").headers["etag"]
    )


@pytest.mark.parametrize("path", ["/", "/maxims", "/maxims/34", "/privacy", "/support", "/x"])
def test_a_page_loads_nothing_from_anyone_else_and_runs_no_script(web_base_url, path):
    reply = ask(web_base_url, path)
    shown = Page(reply.text)
    assert not shown.all("script")
    assert not any(attrs.get("style") for _, attrs in shown.tags)
    assert "<style" not in reply.text
    loaded = [attrs.get("src") for attrs in shown.all("img")]
    loaded += [attrs.get("srcset") for attrs in shown.all("source")]
    loaded += [attrs.get("href") for attrs in shown.all("link") if attrs.get("rel") != "canonical"]
    assert loaded and all(
        url and url.startswith("/") and not url.startswith("//") for url in loaded
    )


def test_the_stylesheet_loads_only_the_bots_own_fonts(web_base_url):
    css = ask(web_base_url, "/static/site.css").text
    urls = re.findall(r"url\(\"?([^\")]+)\"?\)", css)
    assert urls == ["/static/fonts/Inter-Regular.otf", "/static/fonts/Inter-Bold.otf"]
    assert "@import" not in css
    assert "prefers-color-scheme: dark" in css
    for url in urls:
        assert ask(web_base_url, url).status == 200
