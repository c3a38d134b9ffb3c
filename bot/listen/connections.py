"""A listener's connections: how many it keeps, and how long each may idle or dawdle.

aiohttp keeps a connection that never sends a request for an hour, waits for headers and
bodies for as long as they take, and accepts every connection it is offered: 1,141 idle
connections once used up the process's 1,024 file descriptors, and with them every outgoing
call. So each connection is watched here, from the moment it is accepted:

* idle (no request under way, none begun): closed after `idle_timeout_seconds`;
* a request begun but its headers incomplete: closed `header_timeout_seconds` after its first
  byte, however slowly the rest trickles in;
* its body incomplete once the headers are in: answered ``408`` after `body_timeout_seconds`
  (see `ConnectionGuard.middleware`), with one WARNING line;
* past `max_connections`: the connection idle the longest is closed to make room (a client
  that holds connections open without using them cannot lock out one that sends requests),
  or the one sending its body the longest if that has waited longer (stalled uploads cannot
  either), and only when every connection is being handled is the new one refused (``503``).

A request being handled is never cut short: its time is the bot's own, not the client's. In a
flood, each kind of line (a stalled upload, room made at the cap, ...) is written once a
minute, with a count of the rest (`Notes`), so the log says what happens without drowning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

if TYPE_CHECKING:
    from bot.config import ServerConfig

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REFUSED = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
IDLE, HEADERS, BODY, BUSY = "idle", "headers", "body", "busy"
NOTE_EVERY = 60.0  # seconds: each kind of line at most once in this time, with a count after
GIVE_BACK_AFTER = 16 * 1024 * 1024  # bytes of bodies read before memory is handed back...
GIVE_BACK_EVERY = 10.0  # ...once no body is on its way, at most this often (seconds)


class Connection(asyncio.Protocol):
    """One accepted connection: aiohttp's protocol for it, and where it stands.

    aiohttp's protocol (and its task) is made only when the first byte arrives: a connection
    that never sends one costs the bot a small object, not a request handler. From then on
    every event is handed on to it unchanged; this only notes when a request begins (its
    first byte while idle), and the guard's middleware when one is being served.
    """

    __slots__ = ("evicted", "guard", "http", "since", "state", "transport")

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard
        self.http: asyncio.Protocol | None = None
        self.state = IDLE
        self.since = guard.now()
        self.transport: asyncio.Transport | None = None
        self.evicted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self.transport = transport  # type: ignore[assignment]  # a TCP server's are
        if not self.guard.admit(self):
            self.transport = None
            with contextlib.suppress(OSError):
                transport.write(REFUSED)  # type: ignore[attr-defined]
            transport.close()

    def data_received(self, data: bytes) -> None:  # noqa: D102
        if self.state is IDLE:
            self.state, self.since = HEADERS, self.guard.now()
        if self.http is None:
            if self.transport is None:  # refused or closed: whatever it says is unheard
                return
            self.http = self.guard.serve(self)
            self.http.connection_made(self.transport)
        self.http.data_received(data)

    def eof_received(self) -> bool | None:  # noqa: D102
        return self.http.eof_received() if self.http is not None else None

    def pause_writing(self) -> None:  # noqa: D102
        if self.http is not None:
            self.http.pause_writing()

    def resume_writing(self) -> None:  # noqa: D102
        if self.http is not None:
            self.http.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        if self.transport is not None:  # admitted
            self.guard.forget(self)
            if self.http is not None:
                self.http.connection_lost(exc)

    def close(self) -> None:
        """Close it (it is idle, or dawdled past its time)."""
        if self.transport is not None:
            self.transport.close()


class Notes:
    """WARNING lines of a listener, each kind once per `NOTE_EVERY`, then how many more came.

    The first of a kind is written at once, whole; the next ones in its minute are only
    counted, and one line at the minute's end says how many there were.
    """

    def __init__(self, name: str, logger: logging.Logger) -> None:
        self.name = name
        self.log = logger
        self.loop = asyncio.get_running_loop()
        self.more: dict[str, int] = {}  # kind -> lines held back in its current minute
        self.timers: dict[str, asyncio.TimerHandle] = {}

    def warning(self, kind: str, message: str, *args: object) -> None:
        """Write ``name: message`` now, or count it if a `kind` line was written this minute."""
        if kind in self.timers:
            self.more[kind] += 1
            return
        self.log.warning("%s: %s", self.name, message % args)
        self.more[kind] = 0
        self.timers[kind] = self.loop.call_later(NOTE_EVERY, self.flush, kind)

    def flush(self, kind: str) -> None:
        """The end of `kind`'s minute: say how many more there were."""
        self.timers.pop(kind, None)
        more = self.more.pop(kind, 0)
        if more:
            self.log.warning("%s: %d more like that (%s) in the last minute", self.name, more, kind)

    def close(self) -> None:
        """Say what is still held back, and stop the timers."""
        for kind in list(self.timers):
            self.timers[kind].cancel()
            self.flush(kind)


class ConnectionGuard:
    """The connections of one listener, their cap and timeouts, and the middleware it needs.

    `protocol` is the protocol factory to serve with; `middleware` goes into the app, so the
    guard knows when a request is being served; `watch` closes whoever overstays.
    """

    def __init__(
        self,
        name: str,
        limits: ServerConfig,
        http: Callable[[], asyncio.Protocol],
        logger: logging.Logger = log,
    ) -> None:
        self.name = name
        self.limits = limits
        self.http = http
        self.log = logger
        self.notes = Notes(name, logger)
        self.now = asyncio.get_running_loop().time
        self.open: set[Connection] = set()
        self.serving: dict[asyncio.Protocol, Connection] = {}  # by aiohttp's protocol
        self.idle: dict[Connection, None] = {}  # no request under way, longest idle first
        self.reading: dict[Connection, None] = {}  # a request's body on its way, oldest first
        self.body_bytes = 0  # read since memory was last handed back
        self.given_back = self.now()

    def protocol(self) -> Connection:
        """A new connection's protocol (the factory `loop.create_server` calls)."""
        return Connection(self)

    def serve(self, connection: Connection) -> asyncio.Protocol:
        """The aiohttp protocol for `connection`, which has begun a request."""
        http = self.http()
        self.serving[http] = connection
        return http

    def admit(self, connection: Connection) -> bool:
        """Make room for `connection` (closing the one waiting the longest), or refuse it."""
        if len(self.open) >= self.limits.max_connections:
            oldest = self.waiting_longest()
            if oldest is None:
                self.notes.warning(
                    "refused",
                    "refused a connection: all %d are being handled",
                    self.limits.max_connections,
                )
                return False
            self.notes.warning(
                f"closed {oldest.state}",
                "at the cap of %d connections: closed the one %s the longest to make room",
                self.limits.max_connections,
                "sending its body" if oldest.state is BODY else "idle",
            )
            oldest.evicted = True
            self.forget(oldest)
            oldest.close()
        self.open.add(connection)
        self.idle[connection] = None
        return True

    def waiting_longest(self) -> Connection | None:
        """The connection waiting for its client the longest: idle, or sending its body.

        Oldest first, whichever it waits for: with the cap held mostly by stalled uploads,
        closing idle connections first closed the newest ones, a real request's among them.
        """
        heads = [next(iter(waiting)) for waiting in (self.idle, self.reading) if waiting]
        return min(heads, key=lambda c: c.since, default=None)

    def forget(self, connection: Connection) -> None:
        """`connection` is gone (or going): it no longer counts."""
        self.open.discard(connection)
        if connection.http is not None:
            self.serving.pop(connection.http, None)
        self.idle.pop(connection, None)
        self.reading.pop(connection, None)

    def __len__(self) -> int:
        return len(self.open)

    def close(self) -> None:
        """Close the connections aiohttp does not know of (none of them began a request)."""
        for connection in [c for c in self.open if c.http is None]:
            self.forget(connection)
            connection.close()

    def overstayed(self) -> list[Connection]:
        """The connections idle or sending headers for longer than they may."""
        now, limits = self.now(), self.limits
        return [
            c
            for c in self.idle
            if now - c.since
            > (limits.idle_timeout_seconds if c.state is IDLE else limits.header_timeout_seconds)
        ]

    async def watch(self) -> None:
        """Close overstaying connections, a few times per shortest timeout, until cancelled."""
        limits = self.limits
        tick = min(limits.idle_timeout_seconds, limits.header_timeout_seconds, 4.0) / 4
        try:
            while True:
                await asyncio.sleep(tick)
                for connection in self.overstayed():
                    self.forget(connection)
                    connection.close()
                self.give_memory_back()
        finally:
            self.notes.close()

    def give_memory_back(self) -> None:
        """After many bodies (a flood of uploads), once none is on its way: free pages back."""
        if self.body_bytes < GIVE_BACK_AFTER or self.reading:
            return
        if self.now() - self.given_back >= GIVE_BACK_EVERY:
            self.body_bytes, self.given_back = 0, self.now()
            hand_memory_back()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Mark the connection as serving; read the body within its timeout; then handle."""
        connection = self.serving.get(request.protocol)
        if connection is not None:
            self.idle.pop(connection, None)
            connection.state = BUSY
        try:
            if request.body_exists:
                refused = await self.read_body(request, connection)
                if refused is not None:
                    return refused
            return await handler(request)
        finally:
            if connection is not None and self.serving.get(request.protocol) is connection:
                connection.state, connection.since = IDLE, self.now()
                self.idle[connection] = None

    async def read_body(
        self, request: web.Request, connection: Connection | None
    ) -> web.Response | None:
        """Read the body for the handler (aiohttp keeps it); a response if that failed.

        While it arrives, the connection may be closed to make room for another. A stalled
        or abandoned upload is the client's doing: a WARNING line, never the traceback
        aiohttp would log for the handler's failed read.
        """
        if request.content.is_eof():  # most bodies come with their headers: no timer
            return await self._read(request, connection)
        if connection is not None:
            connection.state, connection.since = BODY, self.now()
            self.reading[connection] = None
        try:
            async with asyncio.timeout(self.limits.body_timeout_seconds):
                return await self._read(request, connection)
        except TimeoutError:
            self.body_bytes += request.content.total_bytes
            self.notes.warning(
                "stalled uploads",
                "closed a stalled upload (%d of %s bytes in %g s)",
                request.content.total_bytes,
                request.content_length,
                self.limits.body_timeout_seconds,
            )
            response = web.Response(status=408, text="request body too slow")
            response.force_close()
            return response
        finally:
            if connection is not None:
                self.reading.pop(connection, None)
                connection.state = BUSY

    async def _read(
        self, request: web.Request, connection: Connection | None
    ) -> web.Response | None:
        try:
            self.body_bytes += len(await request.read())
        except web.HTTPRequestEntityTooLarge:
            self.log.info(
                "%s: refused a request body over %d bytes", self.name, request.client_max_size
            )
            response = web.Response(status=413, text="request too large")
            response.force_close()
            return response
        except (ConnectionError, HttpProcessingError) as err:
            # aiohttp keeps the error in the request's stream, and its traceback holds the
            # frame holding the request: a cycle around the body read so far, freed only by
            # the garbage collector, which in a flood of uploads held hundreds of MiB.
            err.__traceback__ = None
            self.body_bytes += request.content.total_bytes
            if connection is None or not connection.evicted:  # else counted as room made
                self.notes.warning(
                    "abandoned uploads",
                    "a client abandoned its upload (%d of %s bytes; %s)",
                    request.content.total_bytes,
                    request.content_length,
                    type(err).__name__,
                )
            return web.Response(status=400, text="incomplete request")
        return None


def hand_memory_back() -> bool:
    """Hand the heap's free pages back to the system (glibc's ``malloc_trim``); if it could.

    After a flood of uploads Python has freed the buffers, but glibc keeps the pages between
    live allocations (a body of 256 KiB is sliced from the heap once its threshold has grown
    past that size): RSS stayed at its peak for good. Elsewhere (musl, macOS) it does nothing.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        trim = None
    if trim is None:
        return False
    trim(0)
    return True
