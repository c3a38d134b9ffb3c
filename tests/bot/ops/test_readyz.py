"""`/readyz` of a real probe server on real storage: under a flood, and through an outage.

A flood of probes must cost the bot one ``SELECT 1`` a second, not one per probe (that filled
the connection pool, slowed `/maxim today` and flapped readiness to 503). And caching must not
hide an outage: with the test's own PostgreSQL stopped, `/readyz` turns 503, and 200 again
once the server is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from bot.config import ServerConfig
from bot.ops.metrics import Metrics
from bot.ops.probes import ProbeServer
from bot.ops.readiness import FRESH_SECONDS
from bot.storage import Storage
from tests.bot.ops.helpers import count_pings, readyz, wait_ready
from tests.helpers import Seconds

FLOOD = 400  # probes in one flood
CLIENTS = 50  # connections they come over at once


@contextlib.asynccontextmanager
async def probe_server(
    ping: Callable[[], Awaitable[None]], clock: Callable[[], float] = time.monotonic
) -> AsyncIterator[int]:
    """A probe server on 127.0.0.1 (a free port) whose storage is `ping`; its port."""
    server = ProbeServer(
        ServerConfig(enabled=True, port=0),
        Metrics(),
        [],
        ping=ping,
        scheduler_running=lambda: True,
        clock=clock,
    )
    await server.start()
    try:
        assert server.port is not None
        yield server.port
    finally:
        await server.stop()


async def flood(port: int) -> list[int]:
    """`FLOOD` probes of /readyz over `CLIENTS` connections at once; their status codes."""
    url = f"http://127.0.0.1:{port}/readyz"
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def probe() -> int:
            async with session.get(url) as response:
                await response.read()
                return response.status

        return await asyncio.gather(*(probe() for _ in range(FLOOD)))


async def test_a_flood_of_probes_costs_one_storage_check_a_second(storage):
    pings, clock = count_pings(storage), Seconds()
    async with probe_server(storage.ping, clock) as port:
        first = await flood(port)
        after_first = len(pings)
        clock.advance(FRESH_SECONDS)
        second = await flood(port)
        status, body = await readyz(port)

    assert first == [200] * FLOOD and second == [200] * FLOOD
    assert after_first == 1  # 400 probes, one SELECT 1
    assert len(pings) == 2  # a second later, one more
    assert (status, body) == (
        200,
        {"status": "ready", "parts": {"storage": "ok", "scheduler": "running"}},
    )


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_readyz_follows_a_real_database_down_and_back(stoppable_postgres):
    storage = await Storage.open(stoppable_postgres.url("maxim"))
    try:
        async with probe_server(storage.ping) as port:
            up = await wait_ready(port, 200)
            stoppable_postgres.stop()
            down = await wait_ready(port, 503)
            stoppable_postgres.start()
            back = await wait_ready(port, 200)
    finally:
        await storage.close()

    assert up["parts"]["storage"] == "ok"
    assert down == {"status": "not ready", "parts": {"storage": "error", "scheduler": "running"}}
    assert back["parts"]["storage"] == "ok"
