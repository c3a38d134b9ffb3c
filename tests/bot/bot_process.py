"""`maxim-bot` as a real child process, for the end-to-end tests of every platform."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

BOT = Path(sys.executable).with_name("maxim-bot")
needs_bot = pytest.mark.skipif(not BOT.exists(), reason="maxim-bot is not installed in this venv")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any bot or platform settings, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "MAXIM_BOT_"))
    }
    env.update(extra)
    return env


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
            str(BOT),
            *args,
            cwd=tmp_path,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def wait_for_line(self, text: str, timeout: float = 30) -> None:
        """Read the log until a line contains `text`."""
        assert self.process.stderr is not None
        async with asyncio.timeout(timeout):
            while not any(text in line for line in self.log):
                line = await self.process.stderr.readline()
                if not line:
                    raise AssertionError(f"the bot ended before {text!r}:\n{self.text}")
                self.log.append(line.decode())

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
