"""The probe server of a real `maxim-bot run` process on the console chat.

The console reads a pipe here, so the test writes lines to the bot as a user would type them.
"""

from __future__ import annotations

import asyncio
import socket
import sys

from tests.bot.bot_process import (
    BOT_COMMAND,
    BotProcess,
    clean_env,
    starts_bot_process,
    write_config,
)
from tests.bot.ops.helpers import free_port, get, metrics, readyz, server_config, value
from tests.helpers import python_env, recent_post_time

pytestmark = starts_bot_process


async def start_console(tmp_path, config: str, *args: str) -> BotProcess:
    write_config(tmp_path, config)
    process = await asyncio.create_subprocess_exec(
        *BOT_COMMAND,
        "run",
        *args,
        cwd=tmp_path,
        env=python_env(clean_env()),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    return BotProcess(process)


async def say(bot: BotProcess, line: str) -> str:
    """Type a line; the bot's answer (the console answers each line before the next)."""
    assert bot.process.stdin is not None and bot.process.stdout is not None
    bot.process.stdin.write(f"{line}\n".encode())
    await bot.process.stdin.drain()
    async with asyncio.timeout(30):
        while True:
            answer = (await bot.process.stdout.readline()).decode()
            if answer.startswith("maxim-bot: "):
                return answer


async def test_console_probes_answer_and_metrics_count_what_happened(tmp_path):
    port = free_port()
    at, zone, _ = recent_post_time(1)  # due now: the start-up sweep posts it
    bot = await start_console(
        tmp_path, server_config(port), "--daily-at", f"{at:%H:%M}", "--tz", zone
    )
    try:
        await bot.wait_for_line("maxim-bot running on console")
        await bot.wait_for_line("posted maxim")
        health = await get(port, "/healthz")
        ready = await readyz(port)
        await say(bot, "/maxim 34")
        await say(bot, "/maxim list")
        await say(bot, "/maxim nosuchcommandword 99")
        await say(bot, "/maxim 71")
        await say(bot, "/maxim help")
        await say(bot, "/maxim daily")
        assert "#" in await say(bot, "my loss is NaN")
        bot.process.stdin.write(b"loss=nan again\n/maxim today\n")  # the NaN is cooling down
        await bot.process.stdin.drain()
        await say(bot, "")  # the answer to /maxim today: the NaN line got none
        samples = await metrics(port)
        bot.process.stdin.close()  # EOF: the console, and so the bot, ends
        code, _ = await bot.end(terminate=False)
    finally:
        bot.kill()

    assert health == (200, '{"status": "ok"}')
    assert ready == (
        200,
        {"status": "ready", "parts": {"console": "up", "storage": "ok", "scheduler": "running"}},
    )
    commands = {
        kind: value(samples, "maxim_commands_total", platform="console", kind=kind)
        for kind in ("number", "list", "search", "error", "help", "daily", "today", "random")
    }
    assert commands == {
        "number": 1,
        "list": 1,
        "search": 1,
        "error": 1,
        "help": 1,
        "daily": 1,
        "today": 1,
        "random": 0,
    }
    assert value(samples, "maxim_command_duration_seconds_count", platform="console") == 7
    assert value(samples, "maxim_trigger_answers_total", platform="console", rule="nan") == 1
    assert value(samples, "maxim_trigger_suppressed_total", platform="console", rule="nan") == 1
    assert value(samples, "maxim_daily_posts_total", platform="console", outcome="posted") == 1
    assert value(samples, "maxim_daily_subscriptions", platform="console") == 1
    assert value(samples, "maxim_platform_up", platform="console") == 1
    assert [k for k in samples if k[0] == "maxim_build_info"]
    assert value(samples, "process_resident_memory_bytes") > 0
    assert code == 0, bot.text


async def test_a_taken_probe_port_ends_the_bot_with_one_line_and_status_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        bot = await start_console(tmp_path, server_config(port))
        try:
            code, _ = await bot.end(terminate=False)
        finally:
            bot.kill()

    assert code == 2
    assert f"probe server: cannot listen on 127.0.0.1:{port}" in bot.only_error()


async def test_without_server_nothing_listens_and_prometheus_is_not_loaded(tmp_path):
    write_config(tmp_path)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys, asyncio; from bot.__main__ import main; rc = main(['run']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('prometheus_client', 'aiohttp')))",
        cwd=tmp_path,
        env=python_env(clean_env()),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert out.decode().strip().splitlines()[-1] == "[]", err.decode()
