"""The console platform: a terminal chat over stdin/stdout, like errbot's Text backend.

Each line is a message in one channel: ``/maxim ...`` lines are the slash command, other lines
go through the triggers. It is the embedded default, so the bot runs with no tokens at all,
and it works with a pipe (scripted sessions in tests) as well as a terminal.

A terminal cannot show a picture, so a card (``/maxim card 34``, a daily post in card style)
is saved as ``maxim-34.png`` in the current folder, as the ``maxim card`` command does, and
the console prints its full path and alt text: the file lands where the person typing is,
ready to open, and the same maxim always gives the same bytes, so saving it again changes
nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot import ops
from bot.cards import CardCache, alt_text, card_filename
from bot.chat import ChatService, Origin
from bot.log import report_failure
from bot.poster import PLATFORM_WIDE
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


class CardFiles:
    """Cards saved as PNG files in one folder (`folder`, relative to the current one)."""

    def __init__(self, cards: CardCache, folder: Path) -> None:
        self.cards = cards
        self.folder = folder

    async def save(self, maxim: Maxim) -> Path:
        """Draw the maxim's card (once per process) and write it; its full path.

        Raises:
            OSError: the folder is missing or not writable.

        """
        png = await self.cards.png(maxim)
        path = (self.folder / card_filename(maxim)).absolute()
        await asyncio.to_thread(path.write_bytes, png)
        return path

    async def describe(self, maxim: Maxim, saved: str) -> str:
        """Save the card: `saved` and its path, then its alt text; or the text and why not."""
        try:
            path = await self.save(maxim)
        except OSError as err:
            reason = err.strerror or "it is not writable"
            log.warning("cannot save the card of maxim %d: %s", maxim.number, reason)
            return (
                f"#{maxim.number} {maxim.text}\n"
                f"   (couldn’t save its card in {self.folder.absolute()}: {reason})"
            )
        return f"{saved} {path}\n   alt text: {alt_text(maxim)}"


class ConsolePoster:
    """Posts daily posts to the terminal (the `Poster` of the console platform)."""

    platform = PLATFORM
    rate_limits = PLATFORM_WIDE  # a terminal has no rate limit to keep

    def __init__(self, stdout: TextIO, files: CardFiles) -> None:
        self.stdout = stdout
        self.files = files
        self._ids = itertools.count(1)

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
        """Print the maxim of the day; a card is saved as a file, and its path printed.

        The console has no threads: `thread` is ignored.
        """
        if style == "card":
            text = await self.files.describe(maxim, "Maxim of the day, as a card:")
        else:
            text = f"Maxim of the day: #{maxim.number} {maxim.text}"
        self.stdout.write(f"{BOT_NAME} [#{channel}] {text}\n")
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
        self,
        service: ChatService,
        stdin: TextIO,
        stdout: TextIO,
        *,
        channel: str,
        user: str,
        cards_folder: Path = Path(),
    ) -> None:
        self.service = service
        self.stdin = stdin
        self.stdout = stdout
        self.origin = Origin(PLATFORM, channel, user)
        self.files = CardFiles(service.cards, cards_folder)
        self.poster = ConsolePoster(stdout, self.files)

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
            if isinstance(reply, MaximReply) and reply.card:
                self.say(await self._card(reply))
            else:
                self.say(render_console(reply))
            ops.record_reply(PLATFORM, reply, since)
            return
        # No event id: a terminal never re-delivers a line.
        maxim = await self.service.message(self.origin, line)
        if maxim is not None:
            self.say(f"#{maxim.number} {maxim.text}")

    async def _card(self, reply: MaximReply) -> str:
        first = reply.maxims[0]
        text = await self.files.describe(first, f"Maxim {first.number} as a card:")
        notes = answer_notes(reply, "#{}".format)
        return "".join([text, *(f"\n   ({n})" for n in notes)])

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
