"""Daily-post benchmarks.

1. Fan-out: 1,000 subscriptions due at one minute, posted through a fake platform that allows
   RATE posts per second and answers "rate limited, retry after X" beyond that. Time to finish,
   as a ratio to the floor the rate limit sets (1,000 / RATE seconds). Target <= 1.2x.
2. Start-up: the scheduler building its jobs for 10,000 subscriptions (from real SQLite), as a
   ratio to bare APScheduler adding 10,000 timezone cron jobs, in the same run. Target <= 1.5x.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.poster import RateLimited
from bot.storage import Storage, Subscription
from maxims import Maxim, load_corpus

RATE = 100.0  # posts/s the fake allows: above Discord's 50/s global bot limit
FAN_OUT = 1000
START_SUBS = 10_000
ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
]


class LimitedPlatform:
    """A leaky bucket: posts at least 1/RATE s apart; earlier ones are told when to retry."""

    platform = "bench"

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_allowed = 0.0
        self.posted = 0
        self.limited = 0

    async def post(self, channel: str, maxim: Maxim, *, key: str) -> str:
        now = time.monotonic()
        if now < self.next_allowed:
            self.limited += 1
            raise RateLimited(self.next_allowed - now)
        self.next_allowed = max(now, self.next_allowed) + self.interval
        self.posted += 1
        return str(self.posted)

    async def find_post(self, channel: str, key: str) -> str | None:
        return None


def subscription(i: int, platform: str, at: dt.time, zone: str) -> Subscription:
    return Subscription(
        platform=platform,
        workspace="",
        channel=f"C{i:05d}",
        time=at,
        timezone=zone,
        set_by="bench",
        set_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )


async def fan_out(tmp: Path) -> None:
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp / 'fan.db'}")
    at = dt.time(9, 0)
    for i in range(FAN_OUT):
        await storage.save_subscription(subscription(i, "bench", at, "UTC"))
    platform = LimitedPlatform(RATE)
    now = dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.UTC)
    scheduler = DailyScheduler(
        storage=storage,
        posters={"bench": platform},
        corpus=load_corpus(),
        config=ScheduleConfig(max_concurrent_posts=8),
        clock=lambda: now,
    )
    start = time.perf_counter()
    await scheduler.run_slot(at, "UTC")
    elapsed = time.perf_counter() - start
    await storage.close()
    floor = FAN_OUT / RATE
    ratio = elapsed / floor
    print(
        f"fan-out of {FAN_OUT} posts at {RATE:.0f}/s: {elapsed:.2f} s vs floor {floor:.2f} s = "
        f"{ratio:.2f}x  ({platform.posted} posted, {platform.limited} rate-limit answers)  "
        f"target <= 1.2x: {'ok' if ratio <= 1.2 and platform.posted == FAN_OUT else 'MISSED'}"
    )


def slot(i: int) -> tuple[dt.time, str]:
    # Realistic spread: most teams pick a few round times; 8 zones.
    return dt.time(8 + i % 3, (i // 3) % 4 * 15), ZONES[i % len(ZONES)]


async def bare_apscheduler() -> float:
    scheduler = AsyncIOScheduler(timezone=dt.UTC)
    start = time.perf_counter()
    for i in range(START_SUBS):
        at, zone = slot(i)
        scheduler.add_job(
            print, CronTrigger(hour=at.hour, minute=at.minute, timezone=zone), id=f"j{i}"
        )
    scheduler.start(paused=True)
    elapsed = time.perf_counter() - start
    scheduler.shutdown(wait=False)
    return elapsed


async def ours(storage: Storage) -> float:
    scheduler = DailyScheduler(
        storage=storage,
        posters={"bench": LimitedPlatform(RATE)},
        corpus=load_corpus(),
        config=ScheduleConfig(),
    )
    start = time.perf_counter()
    await scheduler.reload()
    scheduler.scheduler.start(paused=True)
    elapsed = time.perf_counter() - start
    scheduler.scheduler.shutdown(wait=False)
    return elapsed


async def start_up(tmp: Path) -> None:
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp / 'start.db'}")
    for i in range(START_SUBS):
        at, zone = slot(i)
        await storage.save_subscription(subscription(i, "bench", at, zone))
    bare, mine = [], []
    for _ in range(5):
        bare.append(await bare_apscheduler())
        mine.append(await ours(storage))
    await storage.close()
    ratio = statistics.median(mine) / statistics.median(bare)
    ours_ms = statistics.median(mine) * 1000
    print(
        f"scheduler start with {START_SUBS:,} subscriptions: {ours_ms:.0f} ms"
        f" (reading them from SQLite included) vs bare APScheduler adding {START_SUBS:,} cron jobs "
        f"{statistics.median(bare) * 1000:.0f} ms = {ratio:.2f}x  "
        f"target <= 1.5x: {'ok' if ratio <= 1.5 else 'MISSED'}"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await fan_out(Path(tmp))
        await start_up(Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
