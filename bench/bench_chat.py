"""Chat service benchmark: the cost of one NaN answer as the bot's channel count grows.

`ChatService` remembers, per channel, until when storage would refuse another answer (the local
gate) and the last maxim it answered with. Those maps once grew with every channel the bot ever
answered in, and past 10,000 channels the gate was copied on every answer (0.6 ms at 10,000
channels, 11.6 ms at 100,000, blocking the event loop). They now expire in O(1) amortised time
and hold at most `bot.chat.REMEMBERED_CHANNELS` entries, so an answer should cost the same at
100,000 channels as at 10.

Printed: the median cost of answering in a new channel after the bot has answered in N
channels, as a ratio to N = 10, measured in the same run (rounds alternate, so load drift hits
both alike). Storage is real SQLite, but its cooldown write is replaced by one that always
grants, so that the figure is the service's own in-memory work (the write costs the same
whatever the channel count; bench_daily measures storage).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from bot.bootstrap import build_service
from bot.chat import ChatService, Origin
from bot.config import Settings, TriggersConfig
from bot.storage import Storage

SIZES = (10, 100_000)
MEASURED = 2_000  # answers timed per round, each in a channel not seen before
ROUNDS = 3


async def granted(*args: object, **kwargs: object) -> bool:
    """Storage's cooldown write, always granting (see the module docstring)."""
    return True


async def answered_in(storage: Storage, channels: int) -> ChatService:
    """A service that has answered NaN in `channels` channels, all still cooling down."""
    settings = Settings(triggers=TriggersConfig(cooldown_seconds=600))
    service = build_service(settings, storage, rng=random.Random(1))
    for n in range(channels):
        await service.message(Origin("slack", f"C{n}", "U1"), "loss is NaN")
    return service


async def answer_cost(service: ChatService) -> float:
    """Seconds per answer, each in a new channel."""
    origins = [Origin("slack", f"new{n}", "U1") for n in range(MEASURED)]
    start = time.perf_counter()
    for origin in origins:
        if await service.message(origin, "loss is NaN") is None:
            raise AssertionError("a new channel was not answered")
    return (time.perf_counter() - start) / MEASURED


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        storage = await Storage.open(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        storage.take_cooldown = granted  # type: ignore[method-assign]  # see the docstring
        samples: dict[int, list[float]] = {size: [] for size in SIZES}
        try:
            for _ in range(ROUNDS):
                for size in SIZES:
                    samples[size].append(await answer_cost(await answered_in(storage, size)))
        finally:
            await storage.close()
    base = statistics.median(samples[SIZES[0]])
    print(
        f"NaN answer cost by channels answered before (median of {ROUNDS} rounds of "
        f"{MEASURED}; {SIZES[0]} channels = {base * 1e6:.1f} us)"
    )
    for size in SIZES:
        ratio = statistics.median(samples[size]) / base
        verdict = f"  target <= 1.5x: {'ok' if ratio <= 1.5 else 'MISSED'}" if size > 10 else ""
        print(f"  {size:>7,} channels {ratio:6.2f}x{verdict}")


if __name__ == "__main__":
    asyncio.run(main())
