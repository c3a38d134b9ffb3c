"""Several real bot processes sharing one PostgreSQL: every channel gets exactly one post,
even when one process is killed with SIGKILL in the middle of a fan-out and restarted."""

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

from bot.storage import Storage, Subscription
from tests.helpers import ROOT, python_env, recent_post_time

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
        self.runner = web.AppRunner(app)

    async def start(self) -> str:
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

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


def start_worker(db_url: str, platform_url: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bot.daily.daily_worker", db_url, platform_url],
        cwd=ROOT,
        env=python_env(),
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


@pytest.mark.postgres
async def test_two_processes_and_a_kill_post_each_channel_exactly_once(postgres_url, tmp_path):
    at, zone, _ = recent_post_time(minutes_ago=1)
    storage = await Storage.open(postgres_url)
    workers: list[subprocess.Popen] = []
    platform = FakePlatform(delay=0.05)
    try:
        for channel in CHANNELS:
            await storage.save_subscription(
                Subscription(
                    platform="test",
                    workspace="",
                    channel=channel,
                    time=at,
                    timezone=zone,
                    set_by="test",
                    set_at=dt.datetime.now(dt.UTC),
                )
            )
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
        await platform.runner.cleanup()
        await storage.close()
    assert [w.returncode for w in workers[1:]] == [0, 0]
