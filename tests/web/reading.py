"""Asking the pages over real HTTP, exactly as written, and reading what comes back.

`http.client` sends a path byte for byte (aiohttp's client would normalise ``..`` and
``%33``), which the odd-path tests need; it blocks, which is fine with the pages in a thread.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit


@dataclass
class Reply:
    """One answer: status, headers (names lower-cased; the last of repeated ones) and body."""

    status: int
    headers: dict[str, str]
    body: bytes
    server_headers: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode()


def ask(
    base_url: str, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> Reply:
    """`method` `path` (sent as is) on the pages at `base_url`."""
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        return Reply(
            response.status,
            {name.lower(): value for name, value in response.getheaders()},
            body,
            response.msg.get_all("Server") or [],
        )
    finally:
        connection.close()


class Page(HTMLParser):
    """What a page holds that the tests look at: tags and their attributes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.words: list[str] = []
        self.title = ""
        self._in_title = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        self.words.append(data)

    @property
    def text(self) -> str:
        """The visible text, whitespace collapsed."""
        return " ".join(" ".join(self.words).split())

    def all(self, tag: str, **match: str) -> list[dict[str, str]]:
        """The attributes of every `tag` whose attributes include `match`."""
        return [
            attrs
            for name, attrs in self.tags
            if name == tag
            and all(attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in match.items())
        ]

    def meta(self) -> dict[str, str]:
        """``<meta>`` contents by property or name."""
        found = {}
        for attrs in self.all("meta"):
            key = attrs.get("property") or attrs.get("name")
            if key:
                found[key] = attrs.get("content", "")
        return found

    def links(self) -> list[str]:
        """Every ``<a href>``, in order."""
        return [attrs["href"] for attrs in self.all("a") if "href" in attrs]

    def lang(self) -> str:
        return self.all("html")[0].get("lang", "")


def page(base_url: str, path: str) -> Page:
    """GET `path`, which must answer 200 with HTML, parsed."""
    reply = ask(base_url, path)
    assert reply.status == 200, (path, reply.status, reply.text[:500])
    assert reply.headers["content-type"] == "text/html; charset=utf-8"
    return Page(reply.text)
