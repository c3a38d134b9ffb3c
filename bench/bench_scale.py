"""Daily posts at scale (issue 21), on a throwaway PostgreSQL started the way the tests do.

1. Sweep: the once-a-minute sweep with 100,000 subscriptions vs 1,000, in a minute when
   nothing is due, after the first sweep has computed every ``due_at`` (and the table was
   analysed, as autovacuum does within a minute of that). Target <= 1.5x.
   Printed beside it: that first sweep (once, after the upgrade to 0010), and the sweep as
   the code before issue 21 ran it (every subscription read every minute), reproduced here.
2. Start: the scheduler building its jobs with 100,000 subscriptions vs the code before
   issue 21 with 10,000 ("today's figure"), in the same run. Target <= 2x.
3. Memory: peak RSS of a process holding storage and the started scheduler (first sweep
   done) over 100,000 subscriptions; beside it the same process over an empty table and
   the code before issue 21. Target <= 150 MiB.
4. Replicas: 20,000 posts due in one minute in 2,000 workspaces, posted through an emulated
   platform with 30 ms latency per post at the default concurrency (8), by one bot process
   and by two, each a process of its own. Target: two >= 1.8x the throughput of one.

``python bench/bench_scale.py`` runs the issue's sizes (a few minutes); ``--quick`` (or
``BENCH_QUICK=1``) a fifth of them. Needs PostgreSQL's server (pg_ctl), as the tests do.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bot import ops  # noqa: E402
from bot.config import ScheduleConfig  # noqa: E402
from bot.daily.post_schedule import slot_days  # noqa: E402
from bot.daily.scheduler import DailyScheduler  # noqa: E402
from bot.daily.time_rules import due_day, scheduled_instant  # noqa: E402
from bot.poster import PLATFORM_WIDE  # noqa: E402
from bot.storage import Storage  # noqa: E402
from bot.storage.tables import daily_posts, subscriptions  # noqa: E402
from maxims import Maxim, load_corpus  # noqa: E402

QUICK = "--quick" in sys.argv or os.environ.get("BENCH_QUICK") == "1"
SCALE = 5 if QUICK else 1
BIG = 100_000 // SCALE
SMALL = 1_000
TODAY_START = 10_000 // SCALE
REPLICA_POSTS = 20_000 // SCALE
WORKSPACES = 2_000 // SCALE
LATENCY = 0.030
QUIET = dt.datetime(2026, 11, 28, 19, 52, tzinfo=dt.UTC)  # no zone within its catch-up
ZONES = (
    "Europe/Berlin",
    "America/New_York",
    "Asia/Tokyo",
    "UTC",
    "Australia/Sydney",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Kolkata",
)
DAYS = (0b1111111, 0b0011111, 0b0010101, 0b1100000)
MIB = 1024 * 1024


class LatencyPoster:
    """A platform answering every post after `LATENCY` seconds (a round trip to it)."""

    platform = "bench"
    rate_limits = PLATFORM_WIDE  # it never answers 429

    def __init__(self) -> None:
        self.posted = 0

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
        await asyncio.sleep(LATENCY)
        self.posted += 1
        return str(self.posted)

    async def find_post(
        self, channel: str, key: str, *, since: dt.datetime, workspace: str = ""
    ) -> str | None:
        return None


def row(i: int, at: dt.time, zone: str, days: int, due_at: dt.datetime | None) -> dict[str, object]:
    return {
        "platform": "bench",
        "channel": f"C{i:06d}",
        "workspace": f"T{i % WORKSPACES:04d}",
        "post_time": at,
        "timezone": zone,
        "set_by": "bench",
        "set_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        "days": days,
        "due_at": due_at,
    }


def spread(i: int) -> tuple[dt.time, str, int]:
    """Quarter hours from 07:00 to 09:45, eight zones, four sets of days."""
    return dt.time(7 + i % 3, (i // 3) % 4 * 15), ZONES[i % len(ZONES)], DAYS[i % len(DAYS)]


async def fill(storage: Storage, rows: list[dict[str, object]]) -> None:
    async with storage.engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(sa.insert(subscriptions), rows[start : start + 5000])


async def spread_store(url: str, n: int) -> Storage:
    storage = await Storage.open(url, query_timeout=120)
    await fill(storage, [row(i, *spread(i), None) for i in range(n)])
    return storage


def scheduler_for(storage: Storage, now: dt.datetime | None = None) -> DailyScheduler:
    scheduler = DailyScheduler(
        storage=storage,
        posters={"bench": LatencyPoster()},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=(lambda: now) if now is not None else dt.datetime.now,
    )
    scheduler._next_prune = QUIET + dt.timedelta(days=1)  # pruning is daily: not measured
    return scheduler


# -- what the code before issue 21 did (bot/daily/scheduler.py at 3639e2c), reproduced ------


async def before_reload(scheduler: DailyScheduler) -> None:
    """`DailyScheduler.reload` before issue 21: every subscription read into memory."""
    subs = await scheduler.storage.list_subscriptions()
    scheduler._apply_slots(slot_days(subs, scheduler.posters))
    ops.record_subscriptions(scheduler.posters, (s.platform for s in subs))


async def before_sweep(scheduler: DailyScheduler, now: dt.datetime) -> None:
    """The sweep before issue 21 in a minute when nothing is due: every row read and judged."""
    subs = await scheduler.storage.list_subscriptions()
    slot_days(subs, scheduler.posters)
    ops.record_subscriptions(scheduler.posters, (s.platform for s in subs))
    grace = dt.timedelta(minutes=scheduler.config.catch_up_minutes)
    due = [s for s in subs if due_day(now, s.time, ZoneInfo(s.timezone), s.days, grace)]
    assert not due, "the quiet minute is not quiet"


async def timed(work) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    await work
    return time.perf_counter() - start


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISSED"


# -- 1 and 2: the sweep and the start ---------------------------------------------------------


async def sweep_and_start(urls: dict[str, str]) -> None:
    big, small, today = (
        await spread_store(urls["big"], BIG),
        await spread_store(urls["small"], SMALL),
        await spread_store(urls["today"], TODAY_START),
    )
    try:
        ours = {name: scheduler_for(s, QUIET) for name, s in (("big", big), ("small", small))}
        first = {name: await timed(s.sweep()) for name, s in ours.items()}
        for storage in (big, small):  # what autovacuum does within a minute of the first sweep
            async with storage.engine.begin() as conn:
                await conn.execute(sa.text("ANALYZE subscriptions"))
        sweeps: dict[str, list[float]] = {"big": [], "small": []}
        for _ in range(15):  # alternate, so the machine's load meets each alike
            for name, scheduler in ours.items():
                sweeps[name].append(await timed(scheduler.sweep()))
        before = [await timed(before_sweep(scheduler_for(big, QUIET), QUIET)) for _ in range(3)]
        ms = {name: statistics.median(t) * 1000 for name, t in sweeps.items()}
        ratio = ms["big"] / ms["small"]
        print(
            f"sweep, quiet minute: {BIG:,} subscriptions {ms['big']:.2f} ms vs {SMALL:,} "
            f"{ms['small']:.2f} ms = {ratio:.2f}x  target <= 1.5x: {verdict(ratio <= 1.5)}\n"
            f"  the code before issue 21 swept {BIG:,} in {statistics.median(before) * 1000:.0f} ms"
            f"; the first sweep after the upgrade (every due_at computed) took "
            f"{first['big']:.2f} s for {BIG:,}, {first['small'] * 1000:.0f} ms for {SMALL:,}"
        )

        starts: dict[str, list[float]] = {"ours big": [], "before today": [], "before big": []}
        for round_ in range(5):
            starts["ours big"].append(await start_cost(big, ours=True))
            starts["before today"].append(await start_cost(today, ours=False))
            if round_ < 2:
                starts["before big"].append(await start_cost(big, ours=False))
        ms = {name: statistics.median(t) * 1000 for name, t in starts.items()}
        ratio = ms["ours big"] / ms["before today"]
        print(
            f"scheduler start: {BIG:,} subscriptions {ms['ours big']:.0f} ms vs the code before "
            f"issue 21 with {TODAY_START:,} {ms['before today']:.0f} ms = {ratio:.2f}x  "
            f"target <= 2x: {verdict(ratio <= 2)}\n"
            f"  (the code before issue 21 with {BIG:,}: {ms['before big']:.0f} ms)"
        )
    finally:
        for storage in (big, small, today):
            await storage.close()


async def start_cost(storage: Storage, *, ours: bool) -> float:
    """Building the jobs and starting APScheduler (paused), as bench_daily.py measures it."""
    scheduler = scheduler_for(storage, QUIET)
    start = time.perf_counter()
    await (scheduler.reload() if ours else before_reload(scheduler))
    scheduler.scheduler.start(paused=True)
    elapsed = time.perf_counter() - start
    scheduler.scheduler.shutdown(wait=False)
    return elapsed


# -- 3: memory ----------------------------------------------------------------------------------


async def rss_child(url: str, mode: str) -> None:
    """In a process of its own: start the scheduler, sweep once, report peak RSS (MiB)."""
    storage = await Storage.open(url, query_timeout=120)
    scheduler = scheduler_for(storage, QUIET)
    if mode == "before":
        await before_reload(scheduler)
        await before_sweep(scheduler, QUIET)
    else:
        await scheduler.start()
        await scheduler.background.drain()  # the start's sweep
        await scheduler.stop()
    await storage.close()
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines())
    print(json.dumps({k: int(fields[k].split()[0]) / 1024 for k in ("VmHWM", "VmRSS")}))


def rss_of(url: str, mode: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--rss", url, mode],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    ).stdout
    return float(json.loads(out.strip().splitlines()[-1])["VmHWM"])


async def memory(urls: dict[str, str]) -> None:
    ours = await asyncio.to_thread(rss_of, urls["big"], "ours")
    empty = await asyncio.to_thread(rss_of, urls["empty"], "ours")
    before = await asyncio.to_thread(rss_of, urls["big"], "before")
    print(
        f"peak RSS, storage and the started scheduler over {BIG:,} subscriptions: {ours:.0f} MiB"
        f"  target <= 150 MiB: {verdict(ours <= 150)}\n"
        f"  (the same process over no subscriptions {empty:.0f} MiB; the code before issue 21 "
        f"over {BIG:,}: {before:.0f} MiB)"
    )


# -- 4: replicas -------------------------------------------------------------------------------


async def replica_child(url: str) -> None:
    """A bot process's scheduler: starts on "go", stops when its stdin closes."""
    storage = await Storage.open(url, query_timeout=120)
    poster = LatencyPoster()
    scheduler = DailyScheduler(
        storage=storage, posters={"bench": poster}, corpus=load_corpus(), config=ScheduleConfig()
    )
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print("ready", flush=True)
    await reader.readline()
    await scheduler.start()  # its catch-up sweep delivers the minute
    await reader.readline()  # EOF: the bench is done
    await scheduler.stop()
    await storage.close()
    print(f"{time.process_time():.1f} {poster.posted}", flush=True)  # CPU seconds, posts


async def due_minute(url: str) -> None:
    """`REPLICA_POSTS` posts that became due a minute ago, their due_at already computed."""
    now = dt.datetime.now(dt.UTC)
    zone = "UTC" if 2 <= now.hour <= 21 else "Etc/GMT+6"  # never yesterday's minute
    local = now.astimezone(ZoneInfo(zone)) - dt.timedelta(minutes=1)
    at = local.time().replace(second=0, microsecond=0)
    due_at = scheduled_instant(local.date(), at, ZoneInfo(zone))
    storage = await Storage.open(url)
    try:
        await fill(storage, [row(i, at, zone, 0b1111111, due_at) for i in range(REPLICA_POSTS)])
    finally:
        await storage.close()


async def deliver_with(url: str, replicas: int) -> tuple[float, list[int], list[float]]:
    await due_minute(url)
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--replica",
            url,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for _ in range(replicas)
    ]
    storage = await Storage.open(url)
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert (await worker.stdout.readline()).strip() == b"ready"
        start = time.perf_counter()
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.write(b"go\n")
        while await posted_count(storage) < REPLICA_POSTS:  # a count costs the database: 4/s
            await asyncio.sleep(0.25)
        elapsed = time.perf_counter() - start
    finally:
        for worker in workers:
            assert worker.stdin is not None
            worker.stdin.close()
        outputs = [await worker.communicate() for worker in workers]
        await storage.close()
    last = [out.decode().split()[-2:] for out, _ in outputs]
    return elapsed, [int(n) for _, n in last], [float(cpu) for cpu, _ in last]


async def posted_count(storage: Storage) -> int:
    stmt = sa.select(sa.func.count()).where(daily_posts.c.state == "posted")
    async with storage.engine.connect() as conn:
        return int(await conn.scalar(stmt) or 0)


async def replicas(urls: dict[str, str]) -> None:
    one, one_counts, one_cpu = await deliver_with(urls["one"], 1)
    two, two_counts, two_cpu = await deliver_with(urls["two"], 2)
    ratio = one / two  # throughput: posts per second, the same posts
    exact = sum(one_counts) == sum(two_counts) == REPLICA_POSTS
    print(
        f"replicas: {REPLICA_POSTS:,} posts due in one minute ({WORKSPACES:,} workspaces, "
        f"{LATENCY * 1000:.0f} ms a post, {ScheduleConfig().max_concurrent_posts} at a time "
        f"per process): one process {one:.1f} s ({REPLICA_POSTS / one:.0f}/s), two "
        f"{two:.1f} s ({REPLICA_POSTS / two:.0f}/s, {' + '.join(map(str, two_counts))}) = "
        f"{ratio:.2f}x the throughput  target >= 1.8x: {verdict(ratio >= 1.8 and exact)}"
        + ("" if exact else f"  POSTS NOT EXACTLY ONCE: {one_counts} {two_counts}")
        + f"\n  (CPU seconds per process: one {one_cpu[0]:.1f}; two "
        f"{' + '.join(f'{c:.1f}' for c in two_cpu)}; the machine has {os.cpu_count()} cores)"
    )


# -- the throwaway server ----------------------------------------------------------------------


async def main() -> None:
    from tests.postgres_plugin import start_server

    print(f"bench_scale ({'quick: a fifth of the sizes' if QUICK else 'the issue sizes'})")
    with contextlib.ExitStack() as stack:
        try:
            server = start_server(stack)
        except BaseException as err:  # pytest's skip when pg_ctl is missing is a BaseException
            print(f"  skipped: no PostgreSQL server to start ({err})")
            return
        names = ("big", "small", "today", "empty", "one", "two")
        server.admin_execute(*(f'CREATE DATABASE "bench_{name}"' for name in names))
        urls = {name: server.url(f"bench_{name}") for name in names}
        for url in urls.values():  # the schema, at head
            await (await Storage.open(url)).close()
        if "--replicas-only" not in sys.argv:
            await sweep_and_start(urls)
            await memory(urls)
        await replicas(urls)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--rss"]:
        asyncio.run(rss_child(sys.argv[2], sys.argv[3]))
    elif sys.argv[1:2] == ["--replica"]:
        asyncio.run(replica_child(sys.argv[2]))
    else:
        asyncio.run(main())
