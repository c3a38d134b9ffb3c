"""Real bot processes killed in the middle of a fan-out: every channel still gets exactly one
post, and the day is finished within seconds of the death, not after the claims' lease.

Two processes on PostgreSQL, one SIGKILLed, with and without a restart; one process on SQLite,
SIGKILLed and restarted. The lease is left at 300 s where the test is about the heartbeat, so
only the heartbeat can explain a prompt finish.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web

from bot.storage import Storage
from maxims.weekdays import EVERY_DAY
from tests.fakes.loopback import LoopbackServer
from tests.helpers import ROOT, python_env, recent_post_time, subscription

pytestmark = [pytest.mark.child_process, pytest.mark.slow]  # daily schedulers in processes
CHANNELS = [f"C{i:03d}" for i in range(200)]


class FakePlatform:
    """Records posts from every process; each post takes a while, like a real API call."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.posts: list[dict] = []
        self.changed = asyncio.Event()
        app = web.Application()
        app.router.add_post("/post", self.post)
        app.router.add_get("/find", self.find)
        self.server = LoopbackServer(app)

    async def start(self) -> str:
        await self.server.start()
        return self.server.url

    async def post(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.posts.append(body)  # the platform has it now, whatever happens to the caller
        self.changed.set()
        await asyncio.sleep(self.delay)
        return web.json_response({"id": len(self.posts)})

    async def find(self, request: web.Request) -> web.Response:
        key = request.query["key"]
        found = [i for i, p in enumerate(self.posts, 1) if p["key"] == key]
        return web.json_response({"id": found[0] if found else None})

    async def wait_until(self, predicate, timeout: float) -> None:
        async def loop():
            while not predicate():
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(loop(), timeout)


LEASE_ONLY_AS_LAST_RESORT = ("claim_timeout_seconds=300", "sweep_seconds=60")


def start_worker(db_url: str, platform_url: str, log: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bot.daily.daily_worker", db_url, platform_url, *options],
        cwd=ROOT,
        env=python_env(),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.postgres
async def test_two_processes_and_a_kill_post_each_channel_exactly_once(postgres_url, tmp_path):
    storage = await Storage.open(postgres_url)
    workers: list[subprocess.Popen] = []
    platform = FakePlatform(delay=0.05)
    try:
        await subscribe_all(storage, CHANNELS)
        url = await platform.start()
        workers = [start_worker(postgres_url, url, tmp_path / f"w{i}.log") for i in range(2)]
        await platform.wait_until(lambda: len(platform.posts) >= 40, timeout=60)
        workers[0].send_signal(signal.SIGKILL)  # mid fan-out: some posts are in flight
        workers[0].wait(timeout=10)
        assert len(platform.posts) < len(CHANNELS), "the kill came too late to prove anything"
        workers.append(start_worker(postgres_url, url, tmp_path / "w2.log"))

        async def all_posted() -> bool:
            posts = await storage.list_posts("test")
            return len(posts) == len(CHANNELS) and all(p.state == "posted" for p in posts)

        for _ in range(600):
            if await all_posted():
                break
            await asyncio.sleep(0.1)
        assert await all_posted(), (tmp_path / "w1.log").read_text()[-2000:]
        counts = Counter(p["channel"] for p in platform.posts)
        assert counts == Counter(CHANNELS), [c for c, n in counts.items() if n != 1]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
        await platform.server.stop()
        await storage.close()
    assert [w.returncode for w in workers[1:]] == [0, 0]


async def subscribe_all(storage: Storage, channels: list[str], *, mixed: bool = False) -> list[str]:
    """Subscribe `channels`, due a minute ago; returns those that post today.

    With `mixed` days, a third post every day, a third today and two days on, and a third on
    every day but today: those must get nothing, from any process, killed or not.
    """
    at, zone, day = recent_post_time(minutes_ago=1)
    today = 1 << day.weekday()
    choices = (EVERY_DAY, today | 1 << (day.weekday() + 2) % 7, EVERY_DAY & ~today)
    due = []
    for i, channel in enumerate(channels):
        days = choices[i % 3] if mixed else EVERY_DAY
        await storage.save_subscription(
            subscription(
                channel,
                platform="test",
                workspace="",
                time=at,
                timezone=zone,
                set_by="test",
                set_at=dt.datetime.now(dt.UTC),
                days=days,
            )
        )
        if days & today:
            due.append(channel)
    return due


async def wait_all_posted(storage: Storage, channels: list[str], timeout: float) -> list:
    """The post records once every channel's is "posted" (fails after `timeout` s).

    More records than channels (a post on a day that is not chosen) end the wait too, for
    the caller's count of posts to fail on, at once rather than at the timeout.
    """
    async with asyncio.timeout(timeout):
        while True:
            posts = await storage.list_posts("test")
            if len(posts) >= len(channels) and all(p.state == "posted" for p in posts):
                return posts
            await asyncio.sleep(0.2)


def stop_all(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()


@pytest.mark.postgres
async def test_the_survivor_of_a_kill_finishes_the_day_within_90_s(postgres_url, tmp_path):
    storage = await Storage.open(postgres_url)
    platform = FakePlatform(delay=0.05)
    workers: list[subprocess.Popen] = []
    try:
        await subscribe_all(storage, CHANNELS)
        url = await platform.start()
        workers = [
            start_worker(postgres_url, url, tmp_path / f"w{i}.log", *LEASE_ONLY_AS_LAST_RESORT)
            for i in range(2)
        ]
        await platform.wait_until(lambda: len(platform.posts) >= 40, timeout=60)
        victim = await holding_claims(storage, workers)
        victim.send_signal(signal.SIGKILL)  # mid fan-out, and it never comes back
        killed_at = dt.datetime.now(dt.UTC)
        victim.wait(timeout=10)
        workers.remove(victim)
        assert len(platform.posts) < len(CHANNELS), "the kill came too late to prove anything"

        posts = await wait_all_posted(storage, CHANNELS, timeout=120)
        recovery = max(p.posted_at for p in posts) - killed_at
        taken_over = [p for p in posts if p.attempts > 1]
    finally:
        stop_all(workers)
        await platform.server.stop()
        await storage.close()
    print(f"survivor finished {recovery.total_seconds():.1f} s after the kill")
    assert recovery <= dt.timedelta(seconds=90), recovery  # the lease is 300 s
    assert taken_over, "the dead process held no claim: nothing was taken over"
    counts = Counter(p["channel"] for p in platform.posts)
    assert counts == Counter(CHANNELS), [c for c, n in counts.items() if n != 1]
    assert workers[0].returncode == 0


async def holding_claims(storage: Storage, workers: list[subprocess.Popen]) -> subprocess.Popen:
    """A worker that holds claims right now (owners are "host:pid:token")."""
    by_pid = {str(w.pid): w for w in workers}
    async with asyncio.timeout(60):
        while True:
            for post in await storage.list_posts("test"):
                pid = post.owner.split(":")[1]
                if post.state == "claimed" and pid in by_pid:
                    return by_pid[pid]
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("mixed", [False, True], ids=["every-day", "mixed-days"])
async def test_one_process_on_sqlite_killed_and_restarted_posts_each_channel_once(
    sqlite_url, tmp_path, mixed
):
    storage = await Storage.open(sqlite_url)
    platform = FakePlatform(delay=0.05)
    workers: list[subprocess.Popen] = []
    try:
        # 100 channels due today either way; mixed adds 50 whose days leave today out
        channels = await subscribe_all(storage, CHANNELS[: 150 if mixed else 100], mixed=mixed)
        url = await platform.start()
        workers.append(
            start_worker(sqlite_url, url, tmp_path / "w0.log", *LEASE_ONLY_AS_LAST_RESORT)
        )
        await platform.wait_until(lambda: len(platform.posts) >= 20, timeout=60)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        assert len(platform.posts) < len(channels), "the kill came too late to prove anything"
        workers.append(
            start_worker(sqlite_url, url, tmp_path / "w1.log", *LEASE_ONLY_AS_LAST_RESORT)
        )
        restarted_at = dt.datetime.now(dt.UTC)
        posts = await wait_all_posted(storage, channels, timeout=120)
        recovery = max(p.posted_at for p in posts) - restarted_at
    finally:
        stop_all(workers)
        await platform.server.stop()
        await storage.close()
    print(f"restarted process finished {recovery.total_seconds():.1f} s after its start")
    assert recovery <= dt.timedelta(seconds=60), recovery
    counts = Counter(p["channel"] for p in platform.posts)
    assert counts == Counter(channels), [c for c, n in counts.items() if n != 1]
    assert workers[1].returncode == 0, (tmp_path / "w1.log").read_text()[-2000:]
