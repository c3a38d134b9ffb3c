"""The open-file limit raised at start, and connections that could not be accepted, counted."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import resource
from pathlib import Path

from bot.open_files import AcceptErrors
from tests.bot.bot_process import BOT_COMMAND, clean_env, starts_bot_process, write_config


def out_of_descriptors() -> dict[str, object]:
    """What asyncio's accept loop reports when the process has no descriptor left."""
    return {
        "message": "socket.accept() out of system resource",
        "exception": OSError(errno.EMFILE, os.strerror(errno.EMFILE)),
    }


async def test_connections_not_accepted_are_one_warning_line_with_a_count(caplog):
    loop = asyncio.get_running_loop()
    passed_on: list[str] = []
    loop.set_exception_handler(lambda _loop, context: passed_on.append(context["message"]))
    try:
        errors = AcceptErrors.install(loop)
        assert AcceptErrors.install(loop) is errors  # a second listener shares it
        with caplog.at_level(logging.DEBUG):
            for _ in range(1000):
                loop.call_exception_handler(out_of_descriptors())
            loop.call_exception_handler({"message": "something else"})
            errors.report()  # the minute is up
    finally:
        loop.set_exception_handler(None)

    first, rest = (r for r in caplog.records if r.levelno >= logging.WARNING)
    assert first.getMessage().startswith(
        "could not accept 1 connection(s) in the last minute (Too many open files)"
    )
    assert rest.getMessage().startswith("could not accept 999 connection(s) in the last minute")
    assert "Traceback" not in caplog.text and first.exc_info is None
    assert passed_on == ["something else"]  # anything else goes to the handler before


def lower_soft_limit() -> None:
    """In the child, before it runs: a soft limit of 256 under an unchanged hard limit."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))


def open_files_limits(pid: int) -> tuple[str, str]:
    """(soft, hard) "Max open files" of a process, from /proc."""
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return soft, hard
    raise AssertionError("no open-file limit in /proc")


@starts_bot_process
async def test_a_bot_process_raises_its_soft_open_file_limit_to_the_hard_one(tmp_path):
    write_config(tmp_path)
    process = await asyncio.create_subprocess_exec(
        *BOT_COMMAND,
        "run",
        cwd=tmp_path,
        env=clean_env(),
        stdin=asyncio.subprocess.PIPE,  # the console chat runs until its input ends
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=lower_soft_limit,
    )
    assert process.stderr is not None and process.stdin is not None
    try:
        async with asyncio.timeout(30):
            while b"maxim-bot running on" not in await process.stderr.readline():
                pass
        soft, hard = open_files_limits(process.pid)
    finally:
        process.stdin.close()
        async with asyncio.timeout(30):
            await process.wait()

    assert soft == hard != "256"
