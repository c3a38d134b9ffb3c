"""Daily-post benchmarks.

1. Fan-out: 1,000 subscriptions due at one minute, posted through a fake platform that allows
   RATE posts per second and answers "rate limited, retry after X" beyond that. Time to finish,
   as a ratio to the floor the rate limit sets (1,000 / RATE seconds). Target <= 1.2x.
2. Start-up: the scheduler building its jobs for 10,000 subscriptions (from real SQLite), as a
   ratio to bare APScheduler adding 10,000 timezone cron jobs, in the same run. Target <= 1.5x.
3. Sweep with history: the once-a-minute sweep over 1,000 subscriptions with 400 days of post
   records (400,000 rows, what `storage.keep_days` keeps), as a ratio to the same sweep over an
   empty ``daily_posts`` table (a quiet minute) and, in a minute when every post is due and
   done, over a table holding only the two days the sweep reads.
   Target <= 1.5x: the history must cost next to nothing (the ``local_date`` index).
4. Chosen days: the scheduler's start and a sweep over 10,000 subscriptions on mixed days
   (every day, mon-fri, mon,wed,fri, sat,sun, tue-thu,sat), as a ratio to the same 10,000
   posting every day, in the same run. Target <= 1.1x.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.poster import PLATFORM_WIDE, RateLimited
from bot.storage import Storage, Subscription
from bot.storage.tables import daily_posts
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
    rate_limits = PLATFORM_WIDE  # its bucket is one for the whole platform

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate
        self.next_allowed = 0.0
        self.posted = 0
        self.limited = 0

    async def post(
        self,
        channel: str,
        maxim: Maxim,
        *,
        key: str,
        workspace: str = "",
        style: str = "text",
        thread: bool = False,
    ) -> str:
        now = time.monotonic()
        if now < self.next_allowed:
            self.limited += 1
            raise RateLimited(self.next_allowed - now)
        self.next_allowed = max(now, self.next_allowed) + self.interval
        self.posted += 1
        return str(self.posted)

    async def find_post(
        self, channel: str, key: str, *, since: dt.datetime, workspace: str = ""
    ) -> str | None:
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


SWEEP_CHANNELS = 1000
HISTORY_DAYS = 400
SWEEP_NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


async def sweep_store(path: Path, days: int) -> Storage:
    """1,000 subscriptions at 09:00 UTC, each posted on the last `days` days (up to today)."""
    storage = await Storage.open(f"sqlite+aiosqlite:///{path}")
    for i in range(SWEEP_CHANNELS):
        await storage.save_subscription(subscription(i, "bench", dt.time(9), "UTC"))
    at = SWEEP_NOW.replace(hour=9)
    for back in range(days):
        rows = [
            {
                "platform": "bench",
                "channel": f"C{i:05d}",
                "local_date": SWEEP_NOW.date() - dt.timedelta(days=back),
                "maxim_number": 1 + i % 70,
                "state": "posted",
                "owner": "bench",
                "attempts": 1,
                "message_id": str(i),
                "claimed_at": at,
                "lease_until": at,
                "posted_at": at,
            }
            for i in range(SWEEP_CHANNELS)
        ]
        async with storage._engine.begin() as conn:
            await conn.execute(sa.insert(daily_posts), rows)
    return storage


async def sweep_cost(storage: Storage, now: dt.datetime, rounds: int = 7) -> float:
    """Median seconds of one sweep at `now` that finds nothing to post."""
    scheduler = DailyScheduler(
        storage=storage,
        posters={"bench": LimitedPlatform(RATE)},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: now,
    )
    scheduler._next_prune = now + dt.timedelta(days=1)  # pruning is daily, not measured here
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        await scheduler.sweep()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


async def sweep_with_history(tmp: Path) -> None:
    stores = {
        "empty": await sweep_store(tmp / "empty.db", 0),
        "two days": await sweep_store(tmp / "recent.db", 2),
        "400 days": await sweep_store(tmp / "history.db", HISTORY_DAYS),
    }
    # Quiet: 12:00, past the 09:00 posts' catch-up window. Busy: 10:00, every post due (and
    # done), so the sweep reads every record of today; an empty table would mean posting.
    minutes = {"quiet": SWEEP_NOW, "busy": SWEEP_NOW.replace(hour=10)}
    cost: dict[tuple[str, str], list[float]] = {}
    for _ in range(3):  # alternate, so load on the machine hits each alike
        for minute, now in minutes.items():
            for name, storage in stores.items():
                if (minute, name) != ("busy", "empty"):
                    cost.setdefault((minute, name), []).append(await sweep_cost(storage, now))
    for storage in stores.values():
        await storage.close()
    ms = {key: statistics.median(c) * 1000 for key, c in cost.items()}
    quiet = ms["quiet", "400 days"] / ms["quiet", "empty"]
    busy = ms["busy", "400 days"] / ms["busy", "two days"]
    print(
        f"sweep over {SWEEP_CHANNELS:,} subscriptions with {HISTORY_DAYS} days of posts "
        f"({SWEEP_CHANNELS * HISTORY_DAYS:,} rows), quiet minute: {ms['quiet', '400 days']:.1f} ms"
        f" vs empty table {ms['quiet', 'empty']:.1f} ms = {quiet:.2f}x; busy minute (all 1,000 "
        f"due and done): {ms['busy', '400 days']:.1f} ms vs only the two days it reads "
        f"{ms['busy', 'two days']:.1f} ms = {busy:.2f}x  "
        f"target <= 1.5x: {'ok' if max(quiet, busy) <= 1.5 else 'MISSED'}"
    )


MIXED_DAYS = (0b1111111, 0b0011111, 0b0010101, 0b1100000, 0b0101110)


async def days_store(path: Path, masks: tuple[int, ...]) -> Storage:
    """`START_SUBS` subscriptions spread as `start_up`'s, their days taken from `masks` in turn."""
    storage = await Storage.open(f"sqlite+aiosqlite:///{path}")
    for i in range(START_SUBS):
        at, zone = slot(i)
        sub = subscription(i, "bench", at, zone)
        await storage.save_subscription(replace(sub, days=masks[i % len(masks)]))
    return storage


async def quiet_sweep(storage: Storage) -> float:
    """One sweep that reads every subscription and decides each is not due (no catch-up)."""
    now = SWEEP_NOW
    scheduler = DailyScheduler(
        storage=storage,
        posters={"bench": LimitedPlatform(RATE)},
        corpus=load_corpus(),
        config=ScheduleConfig(catch_up_minutes=0),
        clock=lambda: now,
    )
    scheduler._next_prune = now + dt.timedelta(days=1)
    start = time.perf_counter()
    await scheduler.sweep()
    return time.perf_counter() - start


async def chosen_days(tmp: Path) -> None:
    stores = {
        "every day": await days_store(tmp / "every.db", (0b1111111,)),
        "mixed": await days_store(tmp / "mixed.db", MIXED_DAYS),
    }
    starts: dict[str, list[float]] = {name: [] for name in stores}
    sweeps: dict[str, list[float]] = {name: [] for name in stores}
    for _ in range(5):  # alternate, so load on the machine hits each alike
        for name, storage in stores.items():
            starts[name].append(await ours(storage))
            sweeps[name].append(await quiet_sweep(storage))
    for storage in stores.values():
        await storage.close()
    start_ms = {name: statistics.median(t) * 1000 for name, t in starts.items()}
    sweep_ms = {name: statistics.median(t) * 1000 for name, t in sweeps.items()}
    start_ratio = start_ms["mixed"] / start_ms["every day"]
    sweep_ratio = sweep_ms["mixed"] / sweep_ms["every day"]
    print(
        f"{START_SUBS:,} subscriptions on mixed days vs every day: scheduler start "
        f"{start_ms['mixed']:.0f} ms vs {start_ms['every day']:.0f} ms = {start_ratio:.2f}x; "
        f"sweep {sweep_ms['mixed']:.0f} ms vs {sweep_ms['every day']:.0f} ms = "
        f"{sweep_ratio:.2f}x  target <= 1.1x: "
        f"{'ok' if max(start_ratio, sweep_ratio) <= 1.1 else 'MISSED'}"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await fan_out(Path(tmp))
        await start_up(Path(tmp))
        await sweep_with_history(Path(tmp))
        await chosen_days(Path(tmp))


if __name__ == "__main__":
    asyncio.run(main())
