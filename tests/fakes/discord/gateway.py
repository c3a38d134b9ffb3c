"""Gateway (websocket) half of the loopback Discord emulator.

Why: discord.py's connection logic (IDENTIFY, heartbeats, RESUME, RECONNECT, fatal close
codes) is what most often breaks on a version bump; a faithful v10 gateway lets the tests run it
for real, without the internet or mocked SDK objects.

The module is deliberately independent of discord.py: it only knows the wire protocol
(`gateway_wire`).  :class:`FakeGateway` owns sessions and connections; the REST half
(:mod:`tests.fakes.discord.api`) supplies the state (user, guilds) through the small
:class:`GatewayHooks` protocol and calls :meth:`FakeGateway.dispatch` to push events.

Behaviour mirrored from Discord (and relied upon by discord.py 2.7.1):

* query string ``?v=10&encoding=json[&compress=...]`` (compression: see
  `tests.fakes.discord.gateway_wire`).
* HELLO (op 10) first; IDENTIFY (op 2) checked for the token (close 4004), missing intents
  (4013), disallowed privileged intents (4014), bad shard (4010) and double identify (4005);
  anything but a heartbeat before IDENTIFY/RESUME closes with 4003.
* READY carries ``session_id`` and ``resume_gateway_url`` (a separate path on the same server,
  so tests can assert discord.py resumed *there*), then one GUILD_CREATE per guild of the shard.
* every dispatch (op 0) gets the next per-session sequence number and is logged; RESUME (op 6)
  replays everything after the client's ``seq`` and then sends RESUMED; an unknown or
  invalidated session gets INVALID_SESSION (op 9, ``d: false``).  A client close with 1000/1001
  invalidates the session (that is Discord's rule, and what ``Client.close()`` does).
* heartbeat (op 1) -> HEARTBEAT_ACK (op 11).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord.gateway_wire import (
    CLOSE_ALREADY_AUTHENTICATED,
    CLOSE_AUTHENTICATION_FAILED,
    CLOSE_DECODE_ERROR,
    CLOSE_DISALLOWED_INTENTS,
    CLOSE_INVALID_API_VERSION,
    CLOSE_INVALID_INTENTS,
    CLOSE_INVALID_SEQ,
    CLOSE_INVALID_SHARD,
    CLOSE_NOT_AUTHENTICATED,
    CLOSE_REASONS,
    CLOSE_UNKNOWN_ERROR,
    CLOSE_UNKNOWN_OPCODE,
    JSON,
    OP_DISPATCH,
    OP_HEARTBEAT,
    OP_HEARTBEAT_ACK,
    OP_HELLO,
    OP_IDENTIFY,
    OP_INVALID_SESSION,
    OP_PRESENCE_UPDATE,
    OP_RECONNECT,
    OP_RESUME,
    OP_VOICE_STATE_UPDATE,
    SUPPORTED_API_VERSIONS,
    DispatchTransform,
    GatewayConnection,
    GatewayHooks,
    GatewaySession,
    _Compressor,
)


class FakeGateway:
    """The gateway server: sessions, connections, replay log and dispatch.

    Mount :meth:`handle` on a GET route of an aiohttp application (the
    emulator mounts it at both ``/gateway`` and ``/gateway/resume``).
    """

    def __init__(self, hooks: GatewayHooks, *, heartbeat_interval_ms: int = 45_000) -> None:
        self._hooks = hooks
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.resume_gateway_url = ""
        self.sessions: dict[str, GatewaySession] = {}
        self.connections: list[GatewayConnection] = []
        self.identify_payloads: list[JSON] = []
        self.identify_count = 0
        self.resume_count = 0
        self.ready_count = 0
        self._numbers = itertools.count(1)
        self._handlers: set[asyncio.Task[Any]] = set()

    # -- public helpers ---------------------------------------------------

    def live_connections(self) -> list[GatewayConnection]:
        """Connections that are open and attached to a session."""
        return [c for c in self.connections if c.live]

    def open_connections(self) -> list[GatewayConnection]:
        """Connections whose socket is still open (identified or not)."""
        return [c for c in self.connections if not c.closed]

    @property
    def heartbeat_count(self) -> int:
        """Heartbeats received over all connections."""
        return sum(c.heartbeats for c in self.connections)

    async def dispatch(
        self,
        event: str,
        data: JSON,
        *,
        guild_id: int | None = None,
        transform: DispatchTransform | None = None,
    ) -> int:
        """Send a DISPATCH to every valid session whose shard covers ``guild_id``.

        ``transform`` may adapt the payload per session (intents filtering,
        content stripping) or return ``None`` to skip that session.  Sessions
        without a live connection still log the event, so a later RESUME
        replays it.  Returns the number of sessions the event was queued for.
        """
        delivered = 0
        for session in list(self.sessions.values()):
            if session.invalidated or not session.handles_guild(guild_id):
                continue
            payload = transform(session, data) if transform is not None else data
            if payload is None:
                continue
            await self._dispatch_to(session, event, payload)
            delivered += 1
        return delivered

    async def flood(
        self,
        event: str,
        bodies_for: Callable[[GatewaySession], Sequence[str] | None],
        *,
        guild_id: int | None = None,
    ) -> int:
        """Send many pre-serialised dispatches to each live session as fast as it reads them.

        ``bodies_for(session)`` gives the JSON text of each event's ``d`` for that session (or
        ``None`` to skip it).  Every frame is built and compressed before the first is sent,
        under the connection's send lock (a heartbeat ACK cannot slip into the compressed
        stream half-way).  The frames get sequence numbers but are neither logged for RESUME
        nor kept in ``conn.sent``.  Returns the number of sessions flooded.
        """
        flooded = 0
        for session in list(self.sessions.values()):
            conn = session.connection
            if (
                session.invalidated
                or conn is None
                or conn.closed
                or not session.handles_guild(guild_id)
            ):
                continue
            bodies = bodies_for(session)
            if bodies is None:
                continue
            async with session.lock, conn.send_lock:
                head = f'{{"op":{OP_DISPATCH},"t":"{event}","s":'
                frames = []
                for body in bodies:
                    session.seq += 1
                    frames.append(conn.compressor.encode(f'{head}{session.seq},"d":{body}}}'))
                for frame in frames:
                    if conn.ws.closed:
                        break
                    try:
                        if isinstance(frame, bytes):
                            await conn.ws.send_bytes(frame)
                        else:
                            await conn.ws.send_str(frame)
                    except (ConnectionError, RuntimeError):
                        break
            flooded += 1
        return flooded

    async def send_reconnect(self) -> int:
        """Send op 7 RECONNECT on every live connection; returns how many got it."""
        conns = self.live_connections()
        for conn in conns:
            await self._send(conn, {"op": OP_RECONNECT, "d": None, "s": None, "t": None})
        return len(conns)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION; with ``resumable=False`` the session is dropped."""
        for conn in self.live_connections():
            if not resumable and conn.session is not None:
                conn.session.invalidated = True
            await self._send(conn, {"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None})

    async def drop_connection(self, code: int | None = CLOSE_UNKNOWN_ERROR) -> int:
        """Close live connections from the server side.

        ``code`` is sent in the close frame (4000 is resumable); ``None``
        aborts the TCP connection without a close frame, which clients see as
        1006 (abnormal closure).  Sessions stay resumable either way.
        """
        conns = self.open_connections()
        for conn in conns:
            conn.closed_by_server = True
            if code is None:
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
            else:
                await self._close(conn, code)
        return len(conns)

    async def close_all(self, code: int = 1001) -> None:
        """Close every open connection (used when the emulator shuts down)."""
        for conn in self.open_connections():
            conn.closed_by_server = True
            await self._close(conn, code)
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)

    # -- websocket handler ------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Serve one gateway websocket connection."""
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            return await self._serve(request)
        finally:
            if task is not None:
                self._handlers.discard(task)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        ws = web.WebSocketResponse(max_msg_size=0, autoclose=True, autoping=True)
        await ws.prepare(request)
        compress = query.get("compress")
        try:
            compressor = _Compressor(compress)
        except (ValueError, ImportError):
            compressor = _Compressor(None)
            compress = None
            bad_compress = True
        else:
            bad_compress = False
        conn = GatewayConnection(
            number=next(self._numbers),
            path=request.path,
            query=query,
            compress=compress,
            ws=ws,
            request=request,
            compressor=compressor,
        )
        self.connections.append(conn)
        await self._hooks.gateway_changed()
        try:
            if bad_compress:
                await self._close(conn, CLOSE_DECODE_ERROR)
            elif query.get("v") not in SUPPORTED_API_VERSIONS:
                await self._close(conn, CLOSE_INVALID_API_VERSION)
            elif query.get("encoding", "json") != "json":
                await self._close(conn, CLOSE_DECODE_ERROR)
            else:
                hello = {
                    "heartbeat_interval": self.heartbeat_interval_ms,
                    "_trace": ["fake-gateway"],
                }
                await self._send(conn, {"op": OP_HELLO, "d": hello, "s": None, "t": None})
                await self._receive_loop(conn)
        finally:
            conn.closed = True
            if conn.close_code is None:
                conn.close_code = ws.close_code
            session = conn.session
            if session is not None and session.connection is conn:
                session.connection = None
                # Discord invalidates the session when the *client* closes with
                # 1000/1001; discord.py's Client.close() relies on that.
                if not conn.closed_by_server and ws.close_code in (1000, 1001):
                    session.invalidated = True
            await self._hooks.gateway_changed()
        return ws

    async def _receive_loop(self, conn: GatewayConnection) -> None:
        async for msg in conn.ws:
            if msg.type is not WSMsgType.TEXT:
                # discord.py never sends binary (it would be ETF); treat as garbage.
                await self._close(conn, CLOSE_DECODE_ERROR)
                return
            try:
                frame = json.loads(msg.data)
                op = frame["op"]
            except (ValueError, KeyError, TypeError):
                await self._close(conn, CLOSE_DECODE_ERROR)
                return
            conn.received.append(frame)
            if not await self._handle_frame(conn, op, frame.get("d")):
                return

    async def _handle_frame(self, conn: GatewayConnection, op: int, data: Any) -> bool:
        """Handle one client frame; return False once the connection was closed."""
        if op == OP_HEARTBEAT:
            conn.heartbeats += 1
            await self._send(conn, {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            await self._hooks.gateway_changed()
            return True
        if op == OP_IDENTIFY:
            return await self._identify(conn, data)
        if op == OP_RESUME:
            return await self._resume(conn, data)
        if conn.session is None:
            await self._close(conn, CLOSE_NOT_AUTHENTICATED)
            return False
        if op in (OP_PRESENCE_UPDATE, OP_VOICE_STATE_UPDATE):
            return True  # accepted and ignored: the bot sends neither
        await self._close(conn, CLOSE_UNKNOWN_OPCODE)
        return False

    async def _identify(self, conn: GatewayConnection, data: Any) -> bool:
        if conn.session is not None:
            await self._close(conn, CLOSE_ALREADY_AUTHENTICATED)
            return False
        if not isinstance(data, dict):
            await self._close(conn, CLOSE_DECODE_ERROR)
            return False
        self.identify_payloads.append(data)
        self.identify_count += 1
        await self._hooks.gateway_changed()
        if data.get("token") != self._hooks.token:
            await self._close(conn, CLOSE_AUTHENTICATION_FAILED)
            return False
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0:
            await self._close(conn, CLOSE_INVALID_INTENTS)
            return False
        if self._hooks.gateway_disallowed_intents(intents):
            await self._close(conn, CLOSE_DISALLOWED_INTENTS)
            return False
        shard: tuple[int, int] | None = None
        raw_shard = data.get("shard")
        if raw_shard is not None:
            try:
                shard_id, shard_count = int(raw_shard[0]), int(raw_shard[1])
            except (TypeError, ValueError, IndexError):
                shard_id, shard_count = -1, 0
            if not 0 <= shard_id < shard_count:
                await self._close(conn, CLOSE_INVALID_SHARD)
                return False
            shard = (shard_id, shard_count)

        session = GatewaySession(
            session_id=secrets.token_hex(16),
            intents=intents,
            shard=shard,
            identify_payload=data,
        )
        self.sessions[session.session_id] = session
        conn.session = session
        session.connection = conn
        async with session.lock:
            ready = self._hooks.gateway_ready_payload(session, self.resume_gateway_url)
            await self._dispatch_locked(session, "READY", ready)
            for guild in self._hooks.gateway_guild_payloads(session):
                await self._dispatch_locked(session, "GUILD_CREATE", guild)
        self.ready_count += 1
        await self._hooks.gateway_changed()
        return True

    async def _resume(self, conn: GatewayConnection, data: Any) -> bool:
        if conn.session is not None:
            await self._close(conn, CLOSE_ALREADY_AUTHENTICATED)
            return False
        if not isinstance(data, dict):
            await self._close(conn, CLOSE_DECODE_ERROR)
            return False
        if data.get("token") != self._hooks.token:
            await self._close(conn, CLOSE_AUTHENTICATION_FAILED)
            return False
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or session.invalidated:
            await self._send(conn, {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            await self._hooks.gateway_changed()
            return True
        seq = data.get("seq")
        last_seen = int(seq) if isinstance(seq, int) else 0
        if last_seen > session.seq:
            await self._close(conn, CLOSE_INVALID_SEQ)
            return False
        async with session.lock:
            old = session.connection
            if old is not None and old is not conn and not old.closed:
                old.closed_by_server = True
                await self._close(old, CLOSE_UNKNOWN_ERROR)
            conn.session = session
            conn.resumed = True
            session.connection = conn
            for frame in session.log:
                if frame["s"] > last_seen:
                    await self._send(conn, frame)
            # RESUMED consumes a sequence number but is not replayed itself.
            session.seq += 1
            resumed = {"op": OP_DISPATCH, "t": "RESUMED", "s": session.seq, "d": {"_trace": []}}
            await self._send(conn, resumed)
        self.resume_count += 1
        await self._hooks.gateway_changed()
        return True

    # -- sending ----------------------------------------------------------

    async def _dispatch_to(self, session: GatewaySession, event: str, data: JSON) -> None:
        async with session.lock:
            await self._dispatch_locked(session, event, data)

    async def _dispatch_locked(self, session: GatewaySession, event: str, data: JSON) -> None:
        session.seq += 1
        frame = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
        session.log.append(frame)
        conn = session.connection
        if conn is not None and not conn.closed:
            await self._send(conn, frame)

    async def _send(self, conn: GatewayConnection, frame: JSON) -> None:
        text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
        async with conn.send_lock:
            if conn.ws.closed:
                return
            body = conn.compressor.encode(text)
            try:
                if isinstance(body, bytes):
                    await conn.ws.send_bytes(body)
                else:
                    await conn.ws.send_str(body)
            except (ConnectionError, RuntimeError):
                # The peer went away mid-send; the frame stays in the session
                # log and is replayed on RESUME.
                return
            conn.sent.append(frame)

    async def _close(self, conn: GatewayConnection, code: int) -> None:
        if conn.close_code is None:
            conn.close_code = code
        reason = CLOSE_REASONS.get(code, "").encode()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await conn.ws.close(code=code, message=reason)
