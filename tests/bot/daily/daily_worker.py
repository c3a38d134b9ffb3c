"""A bot process for the multi-process daily-post test: real storage, real scheduler.

It posts through a small HTTP poster to the test's fake platform, so the test can count what
every process posted and kill one of them with SIGKILL in the middle of a fan-out.
Run as ``python -m tests.bot.daily.daily_worker DB_URL PLATFORM_URL [KEY=VALUE ...]``, where
each KEY is a `ScheduleConfig` field or ``sweep_seconds``; stops on SIGTERM (gracefully).
"""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.poster import PLATFORM_WIDE, PostError
from bot.storage import Storage
from maxims import Maxim, load_corpus


class HttpPoster:
    """Posts to the test's fake platform; `find_post` asks it for a key."""

    platform = "test"
    rate_limits = PLATFORM_WIDE

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

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
        body = {"channel": channel, "number": maxim.number, "key": key}
        async with self.session.post(f"{self.url}/post", json=body) as response:
            if response.status != 200:
                raise PostError(f"status {response.status}")
            return str((await response.json())["id"])

    async def find_post(
        self, channel: str, key: str, *, since: object = None, workspace: str = ""
    ) -> str | None:
        async with self.session.get(f"{self.url}/find", params={"key": key}) as response:
            found = (await response.json())["id"]
            return None if found is None else str(found)


async def main(db_url: str, platform_url: str, *options: str) -> None:
    # A 2 s heartbeat (5 s by default) finds a killed process dead after 6 s instead of 15: the
    # same takeover, sooner. The lease stays far longer, so only the heartbeat explains it.
    settings: dict[str, float] = {
        "max_concurrent_posts": 8,
        "claim_timeout_seconds": 2,
        "heartbeat_seconds": 2,
    }
    settings |= {k: float(v) for k, v in (option.split("=", 1) for option in options)}
    sweep_seconds = settings.pop("sweep_seconds", 0.5)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    storage = await Storage.open(db_url)
    async with aiohttp.ClientSession() as session:
        scheduler = DailyScheduler(
            storage=storage,
            posters={"test": HttpPoster(session, platform_url)},
            corpus=load_corpus(),
            config=ScheduleConfig.model_validate(settings),
            sweep_seconds=sweep_seconds,
        )
        await scheduler.start()
        print("ready", flush=True)
        await stop.wait()
        await scheduler.stop()
    await storage.close()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:]))
