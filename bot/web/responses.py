"""How every answer of the pages is sent: security headers, caching, ETags and error pages.

Every response, the error pages and aiohttp's own ``400`` included, carries the same
`SECURITY_HEADERS` (`bot.web.serving` hands them to `bot.listen.listen`, which adds them in
the one hook every response passes). A page, a card or a file is sent with a strong ETag and
answered ``304 Not Modified`` when the browser already has it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from bot.log import report_failure

if TYPE_CHECKING:
    from bot.web.pages import Page, Pages

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""Only the bot's own styles, images and fonts; no script at all, inline or not.

`connect-src 'self'` grants nothing a page uses (it runs no script); it lets a crawler that
reads ``/robots.txt`` from inside the page, as Lighthouse does, reach it.
"""
SECURITY_HEADERS: Mapping[str, str] = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HTML = "text/html; charset=utf-8"
IMMUTABLE = "public, max-age=86400, immutable"
"""A card never changes for its address (same maxim and theme, same bytes)."""
MAX_PATH = 256
"""Longer addresses are no page's: 404 before routing (the longest real one has 31 bytes)."""

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def send(
    request: web.Request,
    body: bytes,
    etag: str,
    *,
    content_type: str = HTML,
    cache: str = "public, max-age=300",
) -> web.Response:
    """`body` with its ETag, or ``304`` with none when the browser's copy has that ETag."""
    headers = {hdrs.CACHE_CONTROL: cache, hdrs.ETAG: f'"{etag}"'}
    matches = request.if_none_match
    if matches and any(m.value in (etag, "*") for m in matches):
        return web.Response(status=304, headers=headers)
    headers[hdrs.CONTENT_TYPE] = content_type
    return web.Response(body=body, headers=headers)


def send_page(
    request: web.Request, page: Page, *, cache: str = "public, max-age=300"
) -> web.Response:
    """A rendered page (HTML)."""
    return send(request, page.body, page.etag, cache=cache)


def plain_path(raw_path: str) -> bool:
    """Whether an address can be a page's: short, without ``%`` escapes or ``..``.

    Every page's address is plain ASCII, so an escape in one is never needed: refusing them
    all keeps encoded tricks (``%2e%2e``, ``%2f``) from ever reaching the routes.
    """
    path = raw_path.partition("?")[0]
    return len(path) <= MAX_PATH and "%" not in path and ".." not in path and "\\" not in path


def error_pages(pages: Pages) -> Middleware:
    """The middleware that turns 404, 405 and a failure into a friendly page in the site's style.

    A failure of ours (a bug) is logged once with a reference and answered 500, never with
    a traceback.
    """

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not plain_path(request.raw_path):
            return _error_page(pages, 404)
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return _error_page(pages, 404)
        except web.HTTPMethodNotAllowed as refused:
            response = _error_page(pages, 405)
            response.headers[hdrs.ALLOW] = refused.headers[hdrs.ALLOW]
            return response
        except web.HTTPException:
            raise
        except Exception:
            report_failure(log, f"the page {request.path[:MAX_PATH]!r}")
            return _error_page(pages, 500)

    return middleware


def _error_page(pages: Pages, status: int) -> web.Response:
    page = pages.error(status)
    return web.Response(
        body=page.body,
        status=status,
        headers={hdrs.CONTENT_TYPE: HTML, hdrs.CACHE_CONTROL: "no-store"},
    )
