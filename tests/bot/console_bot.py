"""`maxim-bot run` as a child process that we chat with through its console (stdin/stdout).

For tests that need the bot running while something around it changes (a database stopped and
started): each `ask` writes one line and reads the bot's one-line answer, and the log (stderr)
is read as it comes, as `BotProcess` does.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.bot.bot_process import BOT_COMMAND, BotProcess, clean_env


def write_storage_config(tmp_path: Path, url: str, **keys: float) -> Path:
    """A config.toml in `tmp_path` whose ``[storage]`` has `url` and `keys`."""
    lines = ["[storage]", f'url = "{url}"', *(f"{k} = {v}" for k, v in keys.items())]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


class ConsoleBot(BotProcess):
    """A `BotProcess` whose stdin is a pipe: the console chat, scripted line by line."""

    @classmethod
    async def start(cls, tmp_path: Path, env: dict[str, str] | None = None, *args: str):  # type: ignore[override]  # stdin is a pipe
        process = await asyncio.create_subprocess_exec(
            *BOT_COMMAND,
            "run",
            *args,
            cwd=tmp_path,
            env=env or clean_env(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(process)

    async def say(self, line: str) -> None:
        """Type `line` into the console."""
        assert self.process.stdin is not None
        self.process.stdin.write(f"{line}\n".encode())
        await self.process.stdin.drain()

    async def read_line(self, timeout: float = 30) -> str:
        """The bot's next line of chat (stdout); fail, showing the log, after `timeout` s."""
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout)
        except TimeoutError:
            raise AssertionError(f"no chat line within {timeout} s; log:\n{self.text}") from None
        return line.decode().rstrip("\n")

    async def ask(self, line: str, timeout: float = 30) -> tuple[str, float]:
        """Type `line`; the answer and how many seconds it took."""
        started = time.monotonic()
        await self.say(line)
        answer = await self.read_line(timeout)
        return answer, time.monotonic() - started

    async def quit(self, timeout: float = 30) -> tuple[int, str]:
        """End of input (Ctrl-D): the exit status and the rest of stdout."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        return await self.end(timeout, terminate=False)
