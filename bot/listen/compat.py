"""Where the listeners lean on aiohttp's internals, in one small module.

Each workaround uses something aiohttp does not promise to keep; ``tests/bot/listen/
test_compat.py`` checks that each still has the shape we rely on, so an upgrade that changes
one fails there, loudly, rather than in production.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import ClassVar

from aiohttp import hdrs, web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import Request


class AnonymousRequest(Request):
    """A request whose every response leaves out the ``Server`` header, and adds `headers`.

    aiohttp names itself and Python's version in every response (``Server: Python/3.11
    aiohttp/3.14.5``): tell no one. The app's ``on_response_prepare`` signal would do for the
    app's own answers, but not for aiohttp's ``400`` to malformed HTTP, whose request has no
    route; the request's prepare hook, which runs the signal, is called for both. The same
    goes for headers every response of a listener must carry (the pages' security headers).
    """

    headers_to_add: ClassVar[Mapping[str, str]] = {}

    async def _prepare_hook(self, response: web.StreamResponse) -> None:
        response.headers.popall(hdrs.SERVER, None)
        if self.headers_to_add:
            response.headers.update(self.headers_to_add)
        await super()._prepare_hook(response)


def make_anonymous(
    runner: web.AppRunner, app: web.Application, headers: Mapping[str, str] | None = None
) -> None:
    """Make the set-up `runner` build `AnonymousRequest`s for `app` (its public factory slot).

    `headers` go on every response, aiohttp's own ``400`` to malformed HTTP included.
    """
    server = runner.server
    if server is None:
        raise RuntimeError("set the runner up first")
    request_class = AnonymousRequest
    if headers:
        added = dict(headers)

        class AnonymousRequestWithHeaders(AnonymousRequest):
            headers_to_add: ClassVar[Mapping[str, str]] = added

        request_class = AnonymousRequestWithHeaders
    server.request_factory = functools.partial(app._make_request, _cls=request_class)


class ClientFaultsInOneLine(logging.Filter):
    """aiohttp logs a malformed HTTP request (the client's fault) at ERROR with a traceback.

    Such a request says nothing about our code: make it one WARNING line naming the listener,
    and leave every other record (a bug of ours) as it is.
    """

    def __init__(self, name: str) -> None:
        super().__init__()
        self.listener = name

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite a client's fault; let every record through."""
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg, record.args = (
                "%s: refused a malformed HTTP request (%s)",
                (self.listener, type(error).__name__),
            )
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def protocol_logger(logger: logging.Logger, name: str) -> logging.Logger:
    """`logger` for aiohttp's server (``AppRunner(logger=...)``): client faults in one line."""
    if not any(isinstance(f, ClientFaultsInOneLine) for f in logger.filters):
        logger.addFilter(ClientFaultsInOneLine(name))
    return logger
