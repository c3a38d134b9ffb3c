"""The console platform: a terminal chat over stdin/stdout, like errbot's Text backend.

Each line is a message in one channel: ``/maxim ...`` lines are the slash command, other lines
go through the triggers. It is the embedded default, so the bot runs with no tokens at all,
and it works with a pipe (scripted sessions in tests) as well as a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from typing import TYPE_CHECKING, TextIO

from bot import ops
from bot.chat import ChatService, Origin
from bot.log import report_failure
from bot.preview import answer_notes
from maxims import ListReply, Maxim, MaximReply, Reply, TextReply, safe_echo

if TYPE_CHECKING:
    import datetime as dt

    from bot.config import ConsoleConfig

log = logging.getLogger(__name__)
PLATFORM = "console"
BOT_NAME = "maxim-bot"


def render_console(reply: Reply) -> str:
    """A reply as plain terminal text."""
    if isinstance(reply, MaximReply):
        first = reply.maxims[0]
        notes = answer_notes(reply, "#{}".format)
        return "".join([f"#{first.number} {first.text}", *(f"\n   ({n})" for n in notes)])
    if isinstance(reply, ListReply):
        return "\n".join(f"{m.number:>2}. {m.preview(70)}" for m in reply.maxims)
    if isinstance(reply, TextReply):
        return reply.text.replace("`", "")
    raise TypeError(f"cannot render {type(reply).__name__}")


class ConsolePoster:
    """Posts daily posts to the terminal (the `Poster` of the console platform)."""

    platform = PLATFORM

    def __init__(self, stdout: TextIO) -> None:
        self.stdout = stdout
        self._ids = itertools.count(1)

    async def post(self, channel: str, maxim: Maxim, *, key: str, workspace: str = "") -> str:
        """Print the maxim of the day."""
        self.stdout.write(
            f"{BOT_NAME} [#{channel}] Maxim of the day: #{maxim.number} {maxim.text}\n"
        )
        self.stdout.flush()
        return f"console-{next(self._ids)}"

    async def find_post(
        self, channel: str, key: str, *, since: dt.datetime, workspace: str = ""
    ) -> str | None:
        """A terminal keeps no history to look in."""
        return None


def _read_lines(
    stdin: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str | None]
) -> None:
    """Blocking reads on a daemon thread, so Ctrl-C never waits for a line to arrive."""
    try:
        for line in iter(stdin.readline, ""):
            loop.call_soon_threadsafe(queue.put_nowait, line)
    except (OSError, ValueError, UnicodeDecodeError):
        log.warning("console input could not be read; stopping the console")
    finally:
        loop.call_soon_threadsafe(queue.put_nowait, None)


class Console:
    """The terminal chat: one channel, one user (who is an admin of their own terminal)."""

    def __init__(
        self, service: ChatService, stdin: TextIO, stdout: TextIO, *, channel: str, user: str
    ) -> None:
        self.service = service
        self.stdin = stdin
        self.stdout = stdout
        self.origin = Origin(PLATFORM, channel, user)
        self.poster = ConsolePoster(stdout)

    def say(self, text: str) -> None:
        """Print the bot's answer."""
        self.stdout.write(f"{BOT_NAME}: {text}\n")
        self.stdout.flush()

    async def run(self) -> None:
        """Read lines until EOF; each is handled before the next is read."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(
            target=_read_lines, args=(self.stdin, loop, queue), name="console-stdin", daemon=True
        ).start()
        while (line := await queue.get()) is not None:
            try:
                await self.handle_line(line.rstrip("\r\n"))
            except Exception:
                self.say(report_failure(log, "console line"))

    async def handle_line(self, line: str) -> None:
        """One line of chat: a slash command or a message."""
        stripped = line.strip()
        if not stripped:
            return
        if stripped.startswith("/"):
            since = ops.started()
            name, _, rest = stripped.partition(" ")
            if name.lower() != "/maxim":
                self.say(f"I only know /maxim (you typed {safe_echo(name)}); try /maxim help.")
                ops.record_command(PLATFORM, "error", since)
                return
            reply = await self.service.command(self.origin, rest, self._is_admin)
            self.say(render_console(reply))
            ops.record_reply(PLATFORM, reply, since)
            return
        # No event id: a terminal never re-delivers a line.
        maxim = await self.service.message(self.origin, line)
        if maxim is not None:
            self.say(f"#{maxim.number} {maxim.text}")

    async def _is_admin(self) -> bool:
        return True


class ConsolePlatform:
    """The console chat as a `Platform`."""

    name = PLATFORM

    def __init__(
        self, service: ChatService, config: ConsoleConfig, stdin: TextIO, stdout: TextIO
    ) -> None:
        self.console = Console(service, stdin, stdout, channel=config.channel, user=config.user)
        self.poster = self.console.poster
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start reading lines."""
        log.info(
            "console chat on #%s: type /maxim help, or any message; Ctrl-D quits",
            self.console.origin.channel,
        )
        self._task = asyncio.get_running_loop().create_task(self.console.run())

    async def ready(self) -> bool:
        """Reading lines: started and not at EOF."""
        return self._task is not None and not self._task.done()

    async def wait(self) -> None:
        """Until EOF."""
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        """Stop reading (the reader thread is a daemon and dies with the process)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
