"""Serving the probes for as long as the bot runs: `serve_probes`, for `bot.runner`.

prometheus_client and aiohttp load only when ``[server] enabled = true``: the console bot and
the tests that leave it off never import them.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.ops.recording import active

if TYPE_CHECKING:
    from bot.config import ServerConfig
    from bot.ops.metrics import Metrics
    from bot.ops.probes import ProbeServer
    from bot.ops.readiness import Connection, Ping


@dataclass
class Probes:
    """The running probe server (None when off), or why it could not start."""

    server: ProbeServer | None = None
    metrics: Metrics | None = None
    problem: Exception | None = None


@contextlib.asynccontextmanager
async def serve_probes(
    config: ServerConfig,
    platforms: Sequence[Connection],
    *,
    ping: Ping,
    scheduler_running: Callable[[], bool],
) -> AsyncIterator[Probes]:
    """Count metrics and serve the probes inside the block, if ``[server]`` is enabled.

    The runner hands in what readiness asks (the platforms, storage's ping, whether the
    scheduler runs) rather than the assembled bot: ops sits below the composition root and
    the platforms, and imports neither.

    A port that cannot be bound is not raised but handed back as `Probes.problem`, so the
    runner ends with its usual one line and exit status 2.
    """
    probes = Probes()
    if not config.enabled:
        yield probes
        return
    from bot.ops.metrics import Metrics
    from bot.ops.probes import CannotListen, ProbeServer

    metrics = Metrics(tuple(p.name for p in platforms))
    server = ProbeServer(config, metrics, platforms, ping=ping, scheduler_running=scheduler_running)
    token = active.set(metrics)
    try:
        try:
            await server.start()
        except CannotListen as err:
            probes.problem = err
        else:
            probes.server, probes.metrics = server, metrics
        yield probes
    finally:
        await server.stop()
        active.reset(token)
