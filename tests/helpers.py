"""Small helpers shared by tests of every part of the bot (fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import pytest

from bot.storage.records import Subscription

T = TypeVar("T")

NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
"""A Saturday morning: 09:00 in Berlin, in winter time."""


class Clock:
    """A clock the tests move by hand (cooldowns, daily posts), never one they sleep on."""

    def __init__(self, now: dt.datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock forward by ``datetime.timedelta(**delta)``."""
        self.now += dt.timedelta(**delta)


async def age_beat(storage: Any, owner: str, **delta: float) -> None:
    """Make `owner`'s last heartbeat older by ``timedelta(**delta)``.

    Liveness is judged by the database's clock, which a hand-moved `Clock` does not move: a
    test lets time pass for a silent process by ageing its beat in the database instead.
    """
    import sqlalchemy as sa

    from bot.storage.tables import database_now, processes

    engine = storage.engine
    older = database_now(engine.dialect.name, -dt.timedelta(**delta), start=processes.c.beat_at)
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(processes).where(processes.c.owner == owner).values(beat_at=older)
        )


def subscription(channel: str = "C1", **fields: Any) -> Subscription:
    """A daily post for `channel`: Slack workspace T1, 09:00 UTC, set in chat by U1 at `NOW`.

    `fields` replace any of those (``time=``, ``timezone=``, ``platform=``, ``failing=`` ...),
    so each test spells out only what it is about.
    """
    defaults: dict[str, Any] = {
        "platform": "slack",
        "workspace": "T1",
        "channel": channel,
        "time": dt.time(9),
        "timezone": "UTC",
        "set_by": "U1",
        "set_at": NOW,
    }
    return Subscription(**(defaults | fields))


class Seconds:
    """A monotonic or POSIX clock in seconds that moves only when a test moves it.

    For the code that takes ``clock: Callable[[], float]`` (readiness, the replay guard, the
    emulators' token expiry and interaction deadlines).
    """

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`."""
        self.now += seconds


class EmulatedTime(Seconds):
    """`Seconds` with a `sleep` that wakes only when the test moves the clock past its end.

    For the daily posts' rate-limit waits (`bot.daily.pacing.Timer`): a 45 s limit passes
    when the test says so, not in 45 real seconds, and the test knows what waited.
    """

    def __init__(self, now: float = 1000.0) -> None:
        super().__init__(now)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = 0

    @property
    def sleepers(self) -> int:
        """How many sleeps are waiting for the clock."""
        return sum(1 for _, _, woken in self._sleepers if not woken.done())

    def next_wake(self) -> float | None:
        """When the first sleeper wakes, or None if nothing sleeps."""
        waiting = [at for at, _, woken in self._sleepers if not woken.done()]
        return min(waiting, default=None)

    async def sleep(self, seconds: float) -> None:
        self._order += 1
        woken = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + seconds, self._order, woken))
        await woken

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds`, waking every sleep that ends by then."""
        self.now += seconds
        for at, _, woken in self._sleepers:
            if at <= self.now and not woken.done():
                woken.set_result(None)
        self._sleepers = [s for s in self._sleepers if not s[2].done()]

    def timer(self) -> Any:
        """A `bot.daily.pacing.Timer` on this time."""
        from bot.daily.pacing import Timer

        return Timer(clock=self, sleep=self.sleep)

    async def run_out(self, task: asyncio.Future[Any], timeout: float = 30) -> None:
        """Let time pass, from one sleep's end to the next, until `task` is done.

        Each step waits (in real time, up to `timeout`: a hang fails, it is not a timing
        assertion) until something sleeps or `task` ends, then wakes the first sleeper.
        """
        while not task.done():
            async with asyncio.timeout(timeout):
                while not (self.sleepers or task.done()):
                    await asyncio.sleep(0.005)
            wake = self.next_wake()
            if wake is not None:
                self.advance(max(wake - self.now, 0.0))
        await task


ROOT = Path(__file__).resolve().parents[1]
"""The repository root: child processes run from here, with it on PYTHONPATH."""


def python_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """`base` (default: this environment) with the repository root first on PYTHONPATH.

    So that ``python -m bot`` in a child process runs this checkout's code whether or not
    (and however) the package is installed in the venv.
    """
    env = dict(os.environ if base is None else base)
    path = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *path])
    env.update(extra)
    return env


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter on this checkout (what it imports, it imports anew)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=python_env(),
        timeout=60,
        check=False,
    )


def recent_post_time(
    minutes_ago: int, now: dt.datetime | None = None
) -> tuple[dt.time, str, dt.date]:
    """A post time `minutes_ago` (HH:MM), its zone and local date: never yesterday's.

    "Two minutes ago" in UTC is yesterday between 00:00 and 00:02, and a catch-up test would
    then expect no post. So near UTC midnight the zone is UTC-6, where it is mid-evening.
    """
    now = dt.datetime.now(dt.UTC) if now is None else now
    zone = "UTC" if 2 <= now.hour <= 21 else "Etc/GMT+6"  # UTC-6: 16:00 to 19:59 then
    local = now.astimezone(ZoneInfo(zone)) - dt.timedelta(minutes=minutes_ago)
    return local.time().replace(second=0, microsecond=0), zone, local.date()


async def race(*aws: Coroutine[Any, Any, T], timeout: float = 30) -> list[T]:
    """Run `aws` concurrently; a deadlock fails the test instead of hanging it."""
    return list(await asyncio.wait_for(asyncio.gather(*aws), timeout=timeout))


def in_ci() -> bool:
    """Whether the env var CI says we run in continuous integration."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing_program(reason: str, tests: str) -> NoReturn:
    """Skip the running test for want of a program, with `reason` (an install hint).

    Under CI it fails instead: CI installs what the tests need (.ci/test-packages.sh), and a
    skip there would pass a suite that never ran `tests` ("PostgreSQL tests", ...).
    """
    if in_ci():
        pytest.fail(f"{reason} [CI is set: {tests} must run, not skip]", pytrace=False)
    pytest.skip(reason)
