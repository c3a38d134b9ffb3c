"""`maxim-bot` as a real child process, for the end-to-end tests of every platform.

The child runs ``python -m bot`` with this checkout first on PYTHONPATH: the code under test,
whatever the venv installed (tests/bot/cli/test_maxim.py checks the console scripts).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.helpers import python_env

BOT_COMMAND = (sys.executable, "-m", "bot")
"""How to start `maxim-bot`: the test interpreter, so it never depends on an installed script."""

starts_bot_process = pytest.mark.bot_process
"""Marks a test that starts the bot as a child process (``-m "not bot_process"`` skips them).

It used to skip when no ``maxim-bot`` script was installed; the bot now always runs.
"""


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any bot or platform settings, plus `extra`.

    The repository root is on PYTHONPATH, so ``python -m bot`` finds this checkout.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "MAXIM_BOT_"))
    }
    return python_env(env, **extra)


def write_config(tmp_path: Path, text: str = "") -> None:
    """A config.toml in `tmp_path` with `text` and a SQLite store beside it."""
    (tmp_path / "config.toml").write_text(
        f'[storage]\nurl = "sqlite+aiosqlite:///{tmp_path / "bot.db"}"\n{text}'
    )


class BotProcess:
    """A `maxim-bot` child process whose log (stderr) we read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.log: list[str] = []

    @classmethod
    async def start(cls, tmp_path: Path, env: dict[str, str], *args: str) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            *BOT_COMMAND,
            *args,
            cwd=tmp_path,
            env=python_env(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def wait_for_line(self, text: str, timeout: float = 30) -> None:
        """Read the log until a line contains `text`; fail, showing the log, after `timeout` s."""
        assert self.process.stderr is not None
        try:
            async with asyncio.timeout(timeout):
                while not any(text in line for line in self.log):
                    line = await self.process.stderr.readline()
                    if not line:
                        raise AssertionError(f"the bot ended before {text!r}:\n{self.text}")
                    self.log.append(line.decode())
        except TimeoutError:
            raise AssertionError(f"no {text!r} within {timeout} s:\n{self.text}") from None

    async def end(self, timeout: float = 30, *, terminate: bool = True) -> tuple[int, str]:
        """SIGTERM (unless it ends by itself); the exit status and stdout."""
        if terminate and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(timeout):
            out, rest = await self.process.communicate()
        self.log.append(rest.decode())
        return int(self.process.returncode or 0), out.decode()

    def kill(self) -> None:
        """Make sure it is gone (in a `finally`)."""
        if self.process.returncode is None:
            self.process.kill()

    def only_error(self) -> str:
        """The one ERROR line of the log (failing if there are more, or a traceback)."""
        errors = [line for line in self.text.splitlines() if " ERROR " in line]
        assert len(errors) == 1, self.text
        assert "Traceback" not in self.text
        return errors[0]

    @property
    def text(self) -> str:
        """The whole log so far."""
        return "".join(self.log)
