"""`/readyz`'s parts and their cache.

Storage must answer within a second, a broken platform counts as down, one slow check is not
an outage, and however many ask, readiness is checked at most once a second.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.ops import readiness
from bot.ops.readiness import ReadinessCache, check_readiness, storage_state
from bot.storage import Storage
from bot.storage.backends import build_engine, normalise_url
from tests.bot.ops.helpers import count_pings
from tests.helpers import Seconds


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


class Pings:
    """A storage ping of our own that answers as told, one behaviour per check."""

    def __init__(self, *behaviours: str) -> None:
        self.behaviours = list(behaviours)

    async def __call__(self) -> None:
        behaviour = self.behaviours.pop(0)
        if behaviour == "hang":
            await asyncio.Event().wait()
        elif behaviour == "refuse":
            raise ConnectionRefusedError("connection refused")


async def states_of_successive_checks(pings: Pings, clock: Seconds) -> list[tuple[str, bool]]:
    cache = ReadinessCache([UpPlatform()], pings, lambda: True, clock=clock)
    seen = []
    while pings.behaviours:
        answer = await cache.current()
        seen.append((answer.parts["storage"], answer.ready))
        clock.advance(readiness.FRESH_SECONDS)
    return seen


async def test_a_slow_storage_check_keeps_the_bot_ready_until_it_lasts(monkeypatch):
    monkeypatch.setattr(readiness, "STORAGE_TIMEOUT", 0.01)
    pings = Pings("hang", "ok", "hang", "hang", "hang", "hang", "ok")
    assert await states_of_successive_checks(pings, Seconds()) == [
        ("slow", True),  # one slow second is not an outage
        ("ok", True),
        ("slow", True),
        ("slow", True),
        ("timeout", False),  # the third in a row is
        ("timeout", False),
        ("ok", True),
    ]


async def test_a_database_that_refuses_is_not_ready_at_the_first_check():
    pings = Pings("refuse", "ok")
    assert await states_of_successive_checks(pings, Seconds()) == [
        ("error", False),
        ("ok", True),
    ]


async def test_an_answer_is_reused_for_a_second_with_one_select_per_check(storage):
    pings, clock = count_pings(storage), Seconds()
    cache = ReadinessCache([UpPlatform()], storage.ping, lambda: True, clock=clock)
    assert (await cache.current()).ready
    for _ in range(5):
        await cache.current()
    clock.advance(readiness.FRESH_SECONDS - 0.001)
    await cache.current()
    assert len(pings) == 1
    clock.advance(0.001)
    assert (await cache.current()).ready
    assert len(pings) == 2


class AlwaysLate(Seconds):
    """Every reading a second later than the one before: no answer is ever fresh."""

    def __call__(self) -> float:
        self.now += readiness.FRESH_SECONDS
        return self.now


async def test_probes_that_arrive_during_a_check_share_it(storage):
    pings = count_pings(storage)
    cache = ReadinessCache([UpPlatform()], storage.ping, lambda: True, clock=AlwaysLate())
    answers = await asyncio.gather(*(cache.current() for _ in range(50)))
    assert len(pings) == 1
    assert all(answer is answers[0] for answer in answers)


async def test_closing_cancels_the_check_under_way():
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def hangs() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    cache = ReadinessCache([], hangs, lambda: True)
    probe = asyncio.create_task(cache.current())
    await started.wait()
    await cache.close()
    assert cancelled.is_set()  # nothing left pending when the server stops
    with pytest.raises(asyncio.CancelledError):
        await probe
