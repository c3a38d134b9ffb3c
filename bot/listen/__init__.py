"""Serving an aiohttp app on the bot's event loop: the Slack HTTP server and the probe server.

One place knows how to start one, so both get the same hardening:

* no signal handlers of its own (the runner owns those), no access log (a line per request is
  noise), no ``Server`` header naming Python and aiohttp on any response (`compat`);
* malformed HTTP, a stalled or abandoned upload: one WARNING line each, never a traceback;
* a cap on connections and timeouts for idle connections, headers and bodies, from the
  ``[server]`` keys (`connections`); connections that could not be accepted for want of
  descriptors reported once a minute (`bot.open_files`);
* a port that is taken or not ours: one line naming the keys to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from aiohttp import web

from bot.config import ServerConfig
from bot.listen.compat import make_anonymous, protocol_logger
from bot.listen.connections import ConnectionGuard
from bot.open_files import AcceptErrors

__all__ = ["ListeningRunner", "listen"]


class ListeningRunner(web.AppRunner):
    """An app runner serving through a `ConnectionGuard`; `cleanup` stops it all.

    aiohttp's sites serve every connection the way aiohttp's own protocol does; the guard
    needs to see each one first, so the runner listens itself, with the guard's protocol.
    """

    def __init__(self, app: web.Application, **kwargs: object) -> None:
        super().__init__(app, **kwargs)  # type: ignore[arg-type]  # AppRunner's own keywords
        self.listening: asyncio.Server | None = None
        self.watching: asyncio.Task[None] | None = None
        self.guard: ConnectionGuard | None = None

    async def cleanup(self) -> None:
        """Stop accepting, let requests under way finish (aiohttp's own shutdown), close."""
        listening, self.listening = self.listening, None
        if listening is not None:
            listening.close()
        watching, self.watching = self.watching, None
        if watching is not None:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watching
        if self.guard is not None:
            self.guard.close()  # aiohttp closes the rest
        await super().cleanup()


async def listen(
    app: web.Application,
    host: str,
    port: int,
    *,
    name: str,
    keys: str,
    shutdown_timeout: float,
    limits: ServerConfig | None = None,
    logger: logging.Logger | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[web.AppRunner, int]:
    """Start serving `app` on `host:port`; the runner and the port it got (for port 0).

    Args:
        app: the routes (not yet frozen: the guard's middleware is added to it).
        host: the address to listen on.
        port: the port (0: any free one).
        name: the listener in log lines ("Slack HTTP", "probes").
        keys: the config keys of the address, for the line when it cannot be had.
        shutdown_timeout: how long requests under way may take to finish when it stops.
        limits: the ``[server]`` keys: connection cap and timeouts (their defaults if None).
        logger: where the listener's lines go (``bot.listen`` if None).
        headers: added to every response, aiohttp's own (a 400 to malformed HTTP) included.

    Raises `OSError` with one line ("cannot listen on HOST:PORT (why): change `keys`") when
    the address cannot be had; the runner is cleaned up first.

    """
    logger = logger or logging.getLogger(__name__)
    loop = asyncio.get_running_loop()
    AcceptErrors.install(loop)
    runner = ListeningRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=shutdown_timeout,
        logger=protocol_logger(logging.getLogger(f"{logger.name}.protocol"), name),
        # After a 408 or 413 the rest of the body is read and dropped for a second at most
        # (not aiohttp's 10 s), so the client sees the answer rather than a reset.
        lingering_time=1.0,
    )
    guard = ConnectionGuard(name, limits or ServerConfig(), lambda: _serve(runner), logger)
    runner.guard = guard
    app.middlewares.append(guard.middleware)
    await runner.setup()
    make_anonymous(runner, app, headers)
    try:
        runner.listening = await loop.create_server(guard.protocol, host, port)
    except OSError as err:
        await runner.cleanup()
        raise OSError(
            f"cannot listen on {host}:{port} ({err.strerror or err}): change {keys}"
        ) from None
    runner.watching = asyncio.create_task(guard.watch(), name=f"{name} connections")
    return runner, int(runner.listening.sockets[0].getsockname()[1])


def _serve(runner: web.AppRunner) -> asyncio.Protocol:
    """The protocol aiohttp serves one more connection of the (set-up) `runner` with."""
    server = runner.server
    if server is None:  # set up before it listens; this is for the types
        raise RuntimeError("the runner is not set up")
    return server()
