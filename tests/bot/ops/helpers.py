"""Reading the probe server of a running `maxim-bot` process: status codes, JSON, metrics."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from bot.storage import Storage

POLL = 0.05  # seconds between two reads while waiting for a state to change


def count_pings(storage: Storage) -> list[str]:
    """Every ``SELECT 1`` the real storage sends from now on, as the database receives it."""
    pings: list[str] = []

    def on_execute(_conn, _cursor, statement: str, *_args: object) -> None:
        if statement.strip().upper() == "SELECT 1":
            pings.append(statement)

    event.listen(storage.engine.sync_engine, "before_cursor_execute", on_execute)
    return pings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_config(port: int) -> str:
    return f"[server]\nenabled = true\nport = {port}\n"


async def get(port: int, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.text()


async def readyz(port: int) -> tuple[int, dict[str, Any]]:
    status, text = await get(port, "/readyz")
    return status, json.loads(text)


async def wait_ready(port: int, status: int, timeout: float = 30) -> dict[str, Any]:
    """Poll /readyz until it answers `status`; its body (fails showing the last one)."""
    last: dict[str, Any] = {}
    try:
        async with asyncio.timeout(timeout):
            while True:
                got, last = await readyz(port)
                if got == status:
                    return last
                await asyncio.sleep(POLL)
    except TimeoutError:
        raise AssertionError(f"/readyz never answered {status}; last: {last}") from None


async def metrics(port: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of /metrics, keyed by (name, labels), parsed by prometheus_client."""
    status, text = await get(port, "/metrics")
    assert status == 200, text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """One sample's value (0 when the series does not exist)."""
    return samples.get((name, frozenset(labels.items())), 0.0)
