"""`maxim-bot` itself stopped with SIGTERM in the middle of a daily fan-out, then restarted.

The real process (`python -m bot` from this checkout) posts to the loopback Slack emulator,
which holds each ``chat.postMessage`` until the test lets it through: "mid fan-out" is then a
state the test sets up, not a moment it hopes to hit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import signal
import socket
from collections import Counter

import pytest

from bot.storage import Storage
from maxims.weekdays import DAY_NAMES
from tests.bot.bot_process import BotProcess, clean_env, starts_bot_process, write_config
from tests.fakes.slack.api import FakeSlack
from tests.helpers import recent_post_time

BOT_TOKEN = "xoxb-test"
SECRET = "test-signing-secret"
CHANNELS = [f"C{i:03d}" for i in range(30)]
DAYS_OFF = [f"D{i:03d}" for i in range(6)]  # channels whose chosen days leave today out
IN_FLIGHT = 4  # max_concurrent_posts: the posts on their way when SIGTERM comes
GRACE = 2  # stop_grace_seconds: one post in flight is left unanswered for longer


@pytest.fixture
async def fake():
    async with FakeSlack(bot_token=BOT_TOKEN) as server:
        server.member_of.update(CHANNELS + DAYS_OFF)  # invited to every channel it posts in
        yield server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def posted(fake: FakeSlack) -> list[str]:
    return [c.body["channel"] for c in fake.calls_to("chat.postMessage", ok=True)]


async def until(predicate, timeout: float = 60) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.05)


@starts_bot_process
@pytest.mark.slow
async def test_sigterm_mid_fan_out_then_a_restart_posts_every_channel_once(fake, tmp_path):
    at, zone, day = recent_post_time(minutes_ago=1)  # due: the start's catch-up posts it
    # Chosen days too (issue 19): every other channel posts today and two days on only, and
    # DAYS_OFF on every day but today, so nothing may reach them, before or after the restart.
    today, later = DAY_NAMES[day.weekday()], DAY_NAMES[(day.weekday() + 2) % 7]
    days = {c: "every day" if i % 2 else f"{later},{today}" for i, c in enumerate(CHANNELS)}
    days |= {c: ",".join(d for d in DAY_NAMES if d != today) for c in DAYS_OFF}
    daily = "".join(
        f'[[daily]]\nplatform = "slack"\nchannel = "{c}"\ntime = "{at:%H:%M}"\n'
        f'timezone = "{zone}"\ndays = "{d}"\n'
        for c, d in days.items()
    )
    write_config(
        tmp_path,
        f"[schedule]\nmax_concurrent_posts = {IN_FLIGHT}\nstop_grace_seconds = {GRACE}\n"
        f'[slack]\nmode = "http"\nhttp_port = {free_port()}\n{daily}',
    )
    env = clean_env(SLACK_API_URL=fake.url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET)
    gates = [fake.hold_next("chat.postMessage") for _ in CHANNELS]
    first = await BotProcess.start(tmp_path, env, "run")
    second: BotProcess | None = None
    try:
        for gate in gates[:10]:
            gate.set()
        await until(lambda: len(posted(fake)) == 10)
        # the next posts reach the emulator and wait there
        await until(lambda: fake.held_calls("chat.postMessage") == IN_FLIGHT)
        first.process.send_signal(signal.SIGTERM)
        await first.wait_for_line("scheduler stopping")
        for gate in gates[10 : 10 + IN_FLIGHT - 1]:
            gate.set()  # the platform answers three posts already sent, within the grace
        code, _ = await first.end(terminate=False)  # the fourth is cut off after GRACE s
        after_stop = Counter(posted(fake))

        for gate in gates[10 + IN_FLIGHT - 1 :]:
            gate.set()  # the cut-off post arrives after all; the restart must find it
        second = await BotProcess.start(tmp_path, env, "run")
        restarted_at = dt.datetime.now(dt.UTC)
        await until(lambda: len(posted(fake)) >= len(CHANNELS))
        await asyncio.sleep(1)  # room for a duplicate, had there been one
        code_after_restart, _ = await second.end()
    finally:
        first.kill()
        if second is not None:
            second.kill()

    assert code == 0, first.text
    assert "Traceback" not in first.text
    assert "raised an exception" not in first.text  # APScheduler's "Job ... raised"
    assert sum(after_stop.values()) == 10 + IN_FLIGHT - 1  # sent posts finished; none began
    assert "gave back the daily post" in first.text  # the cut-off one, for the next owner
    assert Counter(posted(fake)) == Counter(CHANNELS)  # every channel exactly once
    storage = await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        records = await storage.list_posts("slack")
    finally:
        await storage.close()
    assert [r.state for r in records] == ["posted"] * len(CHANNELS)
    assert {r.local_date for r in records} == {day}
    latest = max(r.posted_at for r in records)
    print(f"restart finished the day {(latest - restarted_at).total_seconds():.1f} s after it")
    assert latest - restarted_at <= dt.timedelta(seconds=60)
    assert code_after_restart == 0, second.text
