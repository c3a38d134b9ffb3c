"""`/readyz`'s parts: storage must answer within a second, a broken platform counts as down."""

from __future__ import annotations

import asyncio

from bot.ops import readiness
from bot.ops.readiness import check_readiness, storage_state
from bot.storage import Storage
from bot.storage.backends import build_engine, normalise_url


async def answers() -> None:
    return None


async def test_storage_that_answers_is_ok(storage):
    assert await storage_state(storage.ping) == "ok"


async def test_storage_slower_than_the_timeout_is_not_ready(monkeypatch):
    monkeypatch.setattr(readiness, "STORAGE_TIMEOUT", 0.01)
    never = asyncio.Event()
    assert await storage_state(never.wait) == "timeout"


async def test_a_database_that_refuses_connections_is_an_error():
    url = normalise_url("postgresql+asyncpg://maxim@127.0.0.1:9/maxim")  # nothing listens on 9
    storage = Storage(build_engine(url))
    try:
        assert await storage_state(storage.ping) == "error"
    finally:
        await storage.close()


class BrokenPlatform:
    name = "slack"

    async def ready(self) -> bool:
        raise RuntimeError("the SDK raised")


class UpPlatform:
    name = "console"

    async def ready(self) -> bool:
        return True


async def test_a_platform_whose_check_raises_is_down_and_the_rest_still_report():
    result = await check_readiness([UpPlatform(), BrokenPlatform()], answers, lambda: False)
    assert result.parts == {
        "console": "up",
        "slack": "down",
        "storage": "ok",
        "scheduler": "stopped",
    }
    assert not result.ready


async def test_every_part_good_is_ready():
    assert (await check_readiness([UpPlatform()], answers, lambda: True)).ready
