"""Odd addresses, other methods and HEAD: a friendly page, never a 500 or a file of ours."""

from __future__ import annotations

import pytest

from tests.web.reading import Page, ask

NOT_FOUND = "No page here"
ODD_PATHS = [
    "/maxims/71",
    "/maxims/0",
    "/maxims/-1",
    "/maxims/abc",
    "/maxims/034",
    "/maxims/34/",
    "/maxims/34.5",
    "/maxims/999999999999999999999",
    "/cards/0.png",
    "/cards/71.png",
    "/cards/034.png",
    "/cards/34.jpg",
    "/cards/34.png?theme=sepia",
    "/maxims/%33%34",
    "/cards/%33%34.png",
    "/%6daxims",
    "/static/%2e%2e/pages.py",
    "/static/%2e%2e%2fpages.py",
    "/static/..%2fpages.py",
    "/static/../pages.py",
    "/static/../maxims/34",
    "/x/../cards/34.png",
    "/static/fonts/../../cards/draw.py",
    "/static/../../../../etc/passwd",
    "/static/fonts/..",
    "/static/pages.py",
    "/static/",
    "/static",
    "/templates/base.html",
    "/static/site.css/",
    "/static\\site.css",
    "/" + "maxims/" * 300,
    "/maxims/34?" + "x" * 3000 + "/..",
    "/favicon.ico",
    "/slack/install",
]


@pytest.mark.parametrize("path", ODD_PATHS, ids=lambda p: p[:40])
def test_an_odd_address_is_a_friendly_404(web_base_url, path):
    reply = ask(web_base_url, path)
    if "?" in path and path.startswith("/maxims/34?"):
        # The query is not part of the address: /maxims/34 with an odd query is still it.
        assert reply.status == 200
        return
    assert reply.status == 404, reply.text[:300]
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    shown = Page(reply.text)
    assert NOT_FOUND in shown.text
    assert "/maxims" in shown.links()  # somewhere to go from here
    assert b"import" not in reply.body and b"root:" not in reply.body


def test_an_address_past_the_servers_line_limit_is_refused_without_a_500(web_base_url):
    reply = ask(web_base_url, "/" + "a" * 9000)
    assert 400 <= reply.status < 500
    assert reply.server_headers == []


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
@pytest.mark.parametrize("path", ["/", "/maxims/34", "/cards/34.png", "/static/site.css"])
def test_any_method_but_get_and_head_is_a_friendly_405(web_base_url, method, path):
    reply = ask(web_base_url, path, method, {"Content-Length": "0"})
    assert reply.status == 405
    assert set(reply.headers["allow"].split(",")) == {"GET", "HEAD"}
    assert "Only reading here" in Page(reply.text).text


@pytest.mark.parametrize(
    "path",
    ["/", "/maxims", "/maxims/34", "/privacy", "/support", "/cards/34.png", "/static/site.css"],
)
def test_head_answers_like_get_without_a_body(web_base_url, path):
    get, head = ask(web_base_url, path), ask(web_base_url, path, "HEAD")
    assert (head.status, head.body) == (200, b"")
    for name in ("content-type", "content-length", "etag", "cache-control"):
        assert head.headers[name] == get.headers[name]
    assert int(head.headers["content-length"]) == len(get.body)


def test_head_of_an_odd_address_is_404(web_base_url):
    reply = ask(web_base_url, "/maxims/71", "HEAD")
    assert (reply.status, reply.body) == (404, b"")


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/static/site.css", "text/css; charset=utf-8"),
        ("/static/icon.svg", "image/svg+xml"),
        ("/static/slack-mark.svg", "image/svg+xml"),
        ("/static/discord-mark.svg", "image/svg+xml"),
        ("/static/fonts/Inter-Regular.otf", "font/otf"),
        ("/static/fonts/Inter-Bold.otf", "font/otf"),
        ("/static/fonts/LICENSE.txt", "text/plain; charset=utf-8"),
        ("/robots.txt", "text/plain; charset=utf-8"),
    ],
)
def test_the_files_the_pages_load_are_served_by_the_bot(web_base_url, path, content_type):
    reply = ask(web_base_url, path)
    assert reply.status == 200
    assert reply.headers["content-type"] == content_type
    assert reply.body


def test_the_fonts_are_the_cards_own(web_base_url):
    from importlib import resources

    fonts = resources.files("bot.cards").joinpath("fonts")
    for name in ("Inter-Regular.otf", "Inter-Bold.otf"):
        assert ask(web_base_url, f"/static/fonts/{name}").body == fonts.joinpath(name).read_bytes()
