"""`maxim-bot run` as a real process, driven through a pipe like a scripted console session."""

import asyncio
import datetime as dt
import itertools
import signal
import subprocess
from zoneinfo import ZoneInfo

from maxims import load_corpus
from tests.bot.bot_process import BOT_COMMAND, clean_env, starts_bot_process
from tests.helpers import recent_post_time

pytestmark = starts_bot_process
CLEAN_ENV = clean_env()


def run_bot(tmp_path, stdin, *args, timeout=60):
    return subprocess.run(
        [*BOT_COMMAND, "run", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=CLEAN_ENV,
        timeout=timeout,
    )


def test_scripted_console_session(tmp_path):
    done = run_bot(tmp_path, "/maxim 34\n/maxim 71\nmy loss is NaN\nstill NaN, help\n")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"maxim-bot: #34 {load_corpus().get(34).text}"
    assert lines[1] == "maxim-bot: There’s no maxim 71: pick 1–70, or try /maxim search <word>."
    nan_answers = lines[2:]
    assert len(nan_answers) == 1  # the second NaN is inside the cooldown
    assert int(nan_answers[0].split("#")[1].split()[0]) in {34, 40, 55}
    assert "no Slack or Discord token set: running the console chat" in done.stderr
    assert "Traceback" not in done.stderr
    assert (tmp_path / "maxim-bot.db").is_file()  # the default SQLite store


def test_daily_post_is_caught_up_at_start_and_not_repeated(tmp_path):
    at, zone, today = recent_post_time(minutes_ago=2)
    daily = ("--daily-at", f"{at:%H:%M}", "--tz", zone)
    first = run_bot(tmp_path, "", *daily)
    assert first.returncode == 0, first.stderr
    posts = [line for line in first.stdout.splitlines() if "Maxim of the day" in line]
    expected = load_corpus().for_day(today, "console:console")
    assert posts == [f"maxim-bot [#console] Maxim of the day: #{expected.number} {expected.text}"]
    again = run_bot(tmp_path, "", *daily)
    assert again.returncode == 0, again.stderr
    assert "Maxim of the day" not in again.stdout  # never twice, even after a restart


def test_the_catch_up_time_is_today_and_hours_from_midnight_at_any_hour():
    for hour, minute in itertools.product(range(24), (0, 1, 2, 59)):
        now = dt.datetime(2026, 11, 28, hour, minute, 30, tzinfo=dt.UTC)
        at, zone, today = recent_post_time(minutes_ago=2, now=now)
        local_now = now.astimezone(ZoneInfo(zone))
        assert today == local_now.date(), now
        # at least 1.5 h after the last local midnight and 2 h before the next one
        assert dt.time(1, 30) <= at < local_now.time() < dt.time(22), now


def test_bad_config_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[[daily]]\nplatform = "console"\nchannel = "c"\ntime = "9am"\n'
    )
    done = run_bot(tmp_path, "")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "maxim-bot: config.toml: daily[0].time: '9am' is not a time: use HH:MM on a 24-hour "
        "clock, like '09:00'"
    ]


async def test_ctrl_c_ends_cleanly(tmp_path):
    process = await asyncio.create_subprocess_exec(
        *BOT_COMMAND,
        "run",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=CLEAN_ENV,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(b"/maxim 1\n")
        await process.stdin.drain()
        first = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert first.decode().startswith("maxim-bot: #1 ")  # the bot is up and answering
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert "Traceback" not in err.decode()
    assert "maxim-bot stopped" in err.decode()
