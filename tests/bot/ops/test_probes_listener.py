"""The probe server shares the Slack HTTP server's hardening (`bot.listen`)."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest

from bot.config import ServerConfig
from bot.ops.metrics import Metrics
from bot.ops.probes import ProbeServer


async def no_storage_problem() -> None:
    return None


@pytest.fixture
async def probes():
    server = ProbeServer(
        ServerConfig(enabled=True, port=0, idle_timeout_seconds=0.2),
        Metrics(()),
        [],
        ping=no_storage_problem,
        scheduler_running=lambda: True,
    )
    await server.start()
    yield server
    await server.stop()


async def raw(port: int, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    async with asyncio.timeout(10):
        answer = await reader.read()
    writer.close()
    return answer


async def test_no_probe_answer_names_the_server_software(probes):
    async with aiohttp.ClientSession() as session:
        for path in ("/healthz", "/readyz", "/metrics", "/nowhere"):
            async with session.get(f"http://127.0.0.1:{probes.port}{path}") as response:
                assert "Server" not in response.headers, (path, response.headers)
    malformed = await raw(probes.port, b"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n")

    assert malformed.startswith(b"HTTP/1.0 400 ")
    assert b"\r\nserver:" not in malformed.lower()


async def test_malformed_http_to_the_probes_is_one_warning_line(probes, caplog):
    with caplog.at_level(logging.DEBUG):
        await raw(probes.port, b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")

    [warning] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert (warning.levelname, warning.exc_info) == ("WARNING", None)
    assert warning.getMessage() == "probes: refused a malformed HTTP request (BadHttpMessage)"
    assert "Traceback" not in caplog.text


async def test_an_idle_connection_to_the_probes_is_closed(probes):
    assert await raw(probes.port, b"") == b""  # the idle timeout, from `[server]`
