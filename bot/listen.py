"""Serving an aiohttp app on the bot's event loop: the Slack HTTP server and the probe server.

One place knows how to start one (no signal handlers of its own: the runner owns those; no
access log: a line per request is noise) and how a port that is taken or not ours turns into
one line naming the keys to change.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.log import server_logger


async def listen(
    app: web.Application,
    host: str,
    port: int,
    *,
    keys: str,
    shutdown_timeout: float,
    logger: logging.Logger | None = None,
) -> tuple[web.AppRunner, int]:
    """Start serving `app` on `host:port`; the runner and the port it got (for port 0).

    Raises `OSError` with one line ("cannot listen on HOST:PORT (why): change `keys`") when
    the address cannot be had; the runner is cleaned up first.
    """
    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=shutdown_timeout,
        logger=logger or server_logger,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as err:
        await runner.cleanup()
        raise OSError(
            f"cannot listen on {host}:{port} ({err.strerror or err}): change {keys}"
        ) from None
    return runner, int(runner.addresses[0][1])
