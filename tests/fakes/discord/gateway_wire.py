"""The gateway's wire protocol for the emulator: opcodes, close codes, intents, sessions.

What `tests.fakes.discord.gateway.FakeGateway` speaks and keeps: the numbers of the v10
protocol, transport compression, and the sessions and connections it records for assertions.
Independent of discord.py on purpose.

With ``compress=zlib-stream|zstd-stream`` every payload is a *binary* frame (zlib: one shared
stream, each message flushed with ``Z_SYNC_FLUSH`` so it ends in ``00 00 ff ff``; zstd: one
shared stream flushed per message), without it a text frame. The ``compress`` flag inside
IDENTIFY (payload compression) is ignored, as Discord does when transport compression is on.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

JSON = dict[str, Any]

# Opcodes (https://discord.com/developers/docs/topics/opcodes-and-status-codes).
OP_DISPATCH = 0
OP_HEARTBEAT = 1
OP_IDENTIFY = 2
OP_PRESENCE_UPDATE = 3
OP_VOICE_STATE_UPDATE = 4
OP_RESUME = 6
OP_RECONNECT = 7
OP_INVALID_SESSION = 9
OP_HELLO = 10
OP_HEARTBEAT_ACK = 11

# Gateway close codes.
CLOSE_UNKNOWN_ERROR = 4000
CLOSE_UNKNOWN_OPCODE = 4001
CLOSE_DECODE_ERROR = 4002
CLOSE_NOT_AUTHENTICATED = 4003
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_ALREADY_AUTHENTICATED = 4005
CLOSE_INVALID_SEQ = 4007
CLOSE_INVALID_SHARD = 4010
CLOSE_INVALID_API_VERSION = 4012
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014

CLOSE_REASONS: dict[int, str] = {
    CLOSE_UNKNOWN_ERROR: "Unknown error.",
    CLOSE_UNKNOWN_OPCODE: "Unknown opcode.",
    CLOSE_DECODE_ERROR: "Decode error.",
    CLOSE_NOT_AUTHENTICATED: "Not authenticated.",
    CLOSE_AUTHENTICATION_FAILED: "Authentication failed.",
    CLOSE_ALREADY_AUTHENTICATED: "Already authenticated.",
    CLOSE_INVALID_SEQ: "Invalid seq.",
    CLOSE_INVALID_SHARD: "Invalid shard.",
    CLOSE_INVALID_API_VERSION: "Invalid API version.",
    CLOSE_INVALID_INTENTS: "Invalid intent(s).",
    CLOSE_DISALLOWED_INTENTS: "Disallowed intent(s).",
}

# Intent bits used by the emulator.
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

SUPPORTED_API_VERSIONS = ("9", "10")


class GatewayHooks(Protocol):
    """What the gateway needs from the owning emulator (state and wake-ups)."""

    @property
    def token(self) -> str:
        """The bot token IDENTIFY and RESUME must carry."""
        ...

    def gateway_disallowed_intents(self, intents: int) -> int:
        """Return the privileged intent bits requested but not enabled for the app."""
        ...

    def gateway_ready_payload(self, session: GatewaySession, resume_gateway_url: str) -> JSON:
        """Build the READY ``d`` object for a freshly identified session."""
        ...

    def gateway_guild_payloads(self, session: GatewaySession) -> list[JSON]:
        """Build the GUILD_CREATE ``d`` objects sent right after READY."""
        ...

    async def gateway_changed(self) -> None:
        """Wake up waiters: something observable happened on the gateway."""
        ...


class _Compressor:
    """Transport compression for one connection (the stream spans the whole socket)."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind
        self._zlib: Any = None
        self._zstd: Any = None
        self._zstd_stdlib = False
        if kind == "zlib-stream":
            self._zlib = zlib.compressobj()
        elif kind == "zstd-stream":
            # discord.py only asks for zstd-stream when it can import a zstd
            # decompressor, so one of these is importable in the same venv.
            try:
                import zstandard  # type: ignore[import-not-found,unused-ignore]

                self._zstd = zstandard.ZstdCompressor().compressobj()
            except ImportError:
                from compression import zstd  # type: ignore[import-not-found,unused-ignore]

                self._zstd = zstd.ZstdCompressor()
                self._zstd_stdlib = True
        elif kind is not None:
            raise ValueError(f"unsupported compress={kind!r}")

    def encode(self, text: str) -> str | bytes:
        """Return the frame body: text for plain JSON, bytes when compressed."""
        if self.kind is None:
            return text
        raw = text.encode("utf-8")
        if self._zlib is not None:
            # One shared deflate stream; Z_SYNC_FLUSH ends each message in 00 00 ff ff.
            return bytes(self._zlib.compress(raw) + self._zlib.flush(zlib.Z_SYNC_FLUSH))
        if self._zstd_stdlib:
            return bytes(self._zstd.compress(raw, mode=self._zstd.FLUSH_BLOCK))
        import zstandard

        return bytes(self._zstd.compress(raw) + self._zstd.flush(zstandard.COMPRESSOBJ_FLUSH_BLOCK))


@dataclass(eq=False)
class GatewaySession:
    """One identified gateway session (survives reconnects until invalidated)."""

    session_id: str
    intents: int
    shard: tuple[int, int] | None
    identify_payload: JSON
    seq: int = 0
    log: list[JSON] = field(default_factory=list)
    connection: GatewayConnection | None = None
    invalidated: bool = False
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    def handles_guild(self, guild_id: int | None) -> bool:
        """Whether this session's shard receives events of ``guild_id`` (DMs: shard 0)."""
        if self.shard is None:
            return True
        shard_id, shard_count = self.shard
        if guild_id is None:
            return shard_id == 0
        return (guild_id >> 22) % shard_count == shard_id


@dataclass(eq=False)
class GatewayConnection:
    """One websocket connection, as seen by the server (recorded for assertions)."""

    number: int
    path: str
    query: dict[str, str]
    compress: str | None
    ws: web.WebSocketResponse = field(repr=False)
    request: web.Request = field(repr=False)
    compressor: _Compressor = field(repr=False)
    session: GatewaySession | None = None
    resumed: bool = False
    heartbeats: int = 0
    received: list[JSON] = field(default_factory=list, repr=False)
    sent: list[JSON] = field(default_factory=list, repr=False)
    closed: bool = False
    close_code: int | None = None
    closed_by_server: bool = False
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def live(self) -> bool:
        """True while the socket is open and has identified or resumed."""
        return not self.closed and not self.ws.closed and self.session is not None


DispatchTransform = Callable[[GatewaySession, JSON], JSON | None]
