"""The probe and metrics server: ``/healthz``, ``/readyz`` and ``/metrics`` on ``[server]``.

It runs on the bot's own event loop, so ``/healthz`` answering means the loop is not stuck,
which is what a liveness probe should restart on. ``/readyz`` serves the answer of a
`ReadinessCache` (at most a second old, see `bot.ops.readiness`): a flood of probes costs no
database round trip and, per probe, no more than sending bytes prepared once per check.
``/metrics`` refreshes ``maxim_platform_up`` on each scrape from the platforms' own state
(no database), so it cannot report a connection state older than the scrape.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.listen import listen
from bot.ops.readiness import Connection, Ping, Readiness, ReadinessCache, platform_states

if TYPE_CHECKING:
    from bot.config import ServerConfig
    from bot.ops.metrics import Metrics

log = logging.getLogger(__name__)


class CannotListen(Exception):
    """The probe port cannot be bound: one line for the operator (exit status 2)."""


STOP_TIMEOUT = 2.0


class ProbeServer:
    """The aiohttp server of the probes; `start` raises `CannotListen` if it cannot listen.

    `clock` is the readiness cache's (`ReadinessCache`); tests move one by hand.
    """

    def __init__(
        self,
        config: ServerConfig,
        metrics: Metrics,
        platforms: Sequence[Connection],
        *,
        ping: Ping,
        scheduler_running: Callable[[], bool],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.platforms = platforms
        self.readiness = ReadinessCache(platforms, ping, scheduler_running, clock=clock)
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._served: tuple[Readiness, int, bytes] | None = None

    def build_app(self) -> web.Application:
        """The routes, without listening (tests may serve it on their own)."""
        app = web.Application()
        app.router.add_get("/healthz", self.on_healthz)
        app.router.add_get("/readyz", self.on_readyz)
        app.router.add_get("/metrics", self.on_metrics)
        return app

    async def on_healthz(self, _request: web.Request) -> web.Response:
        """Alive: the event loop runs this handler."""
        return web.json_response({"status": "ok"})

    async def on_readyz(self, _request: web.Request) -> web.Response:
        """200 when every part is ready, else 503; the body names each part's state."""
        readiness = await self.readiness.current()
        served = self._served
        if served is None or served[0] is not readiness:  # once per check, not per probe
            served = self._served = self._prepare(readiness)
        _, status, body = served
        return web.Response(body=body, status=status, content_type="application/json")

    def _prepare(self, readiness: Readiness) -> tuple[Readiness, int, bytes]:
        """A new answer's status and body; the platforms' up gauges follow it."""
        for platform in self.platforms:
            self.metrics.set_up(platform.name, up=readiness.parts[platform.name] == "up")
        body = {"status": "ready" if readiness.ready else "not ready", "parts": readiness.parts}
        return readiness, 200 if readiness.ready else 503, json.dumps(body).encode()

    async def on_metrics(self, _request: web.Request) -> web.Response:
        """The Prometheus exposition, with each platform's up state fresh."""
        for name, up in (await platform_states(self.platforms)).items():
            self.metrics.set_up(name, up=up)
        response = web.Response(body=self.metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def start(self) -> None:
        """Listen on ``server.host:server.port``."""
        host, port = self.config.host, self.config.port
        try:
            runner, self.port = await listen(
                self.build_app(),
                host,
                port,
                name="probes",
                keys="server.host / server.port",
                shutdown_timeout=STOP_TIMEOUT,
                limits=self.config,
                logger=log,
            )
        except OSError as err:
            raise CannotListen(f"probe server: {err}") from None
        self._runner = runner
        log.info("probes on http://%s:%d (/healthz, /readyz, /metrics)", host, self.port)

    async def stop(self) -> None:
        """Stop listening, and any readiness check under way."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        await self.readiness.close()
