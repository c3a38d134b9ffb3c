"""Loopback Discord emulator (REST API + gateway) for end-to-end bot tests: `FakeDiscord`.

The emulator is one class made of parts, one module each: `wire` (ids, bits, state objects),
`records` (recordings, Discord's errors and limits), `state` (users, guilds, channels,
messages), `rest` (the REST routes), `interactions` (commands, autocomplete, buttons, their
answers), `uploads` (files: multipart bodies, attachments) and `gateway` (the websocket).
This module puts them together with the server, the waiters and the gateway hooks, and is
where tests import from.

Why this exists: mocking discord.py objects tests our assumptions about
discord.py, not discord.py.  Instead the tests start :class:`FakeDiscord` -- one
aiohttp server on ``127.0.0.1`` serving ``/api/v10/...`` and the gateway
websocket -- point the real library at it (the bot does that itself from its
settings; bare clients use :meth:`FakeDiscord.patch_discord`) and drive a real
``discord.Client``.  Everything the bot does over REST
is recorded (``fake.requests``, ``fake.messages``, ``fake.interaction_callbacks``
...), and tests push gateway events (messages, slash commands, button clicks)
with the ``send_*`` helpers, then await the bot's reaction with the
``wait_for_*`` helpers (``asyncio.Condition`` based: no polling, and a timeout
raises ``AssertionError`` listing what *was* recorded).

Fidelity notes (what discord.py 2.7.1 actually relies on, checked in its source):

* REST answers carry ``Content-Type: application/json`` *exactly*
  (``discord.http.json_or_text`` compares the header verbatim; a ``; charset``
  suffix makes it return text and breaks parsing).
* ``Authorization: Bot <token>`` is required except on interaction callbacks
  and webhook-token routes (discord.py sends no auth header there, Discord
  authenticates by the token in the path).  A bad token answers 401, which
  ``Client.login`` turns into ``discord.LoginFailure``.
* 429s carry ``Via: 1.1 google`` and a JSON body with ``retry_after`` -- without
  ``Via`` discord.py assumes a Cloudflare ban and raises instead of retrying.
  Successful answers carry no ``X-RateLimit-*`` headers, so discord.py never
  pre-emptively sleeps.
* Interaction callbacks are posted with ``?with_response=1`` and must answer
  ``{"interaction": {...}, "resource": {...}}``; the message only appears in
  ``resource`` for types 4 and 7, like Discord.
* An interaction's first answer must come within 3 s (``interaction_deadline``),
  else 404 Unknown interaction (10062), as on Discord.
* ``channel.send`` always sends a random ``nonce`` with ``enforce_nonce``; a
  repeat of the nonce within five minutes returns the earlier message.
* Discord echoes the bot's own messages back as ``MESSAGE_CREATE``, strips
  ``content``/``embeds``/``attachments``/``components`` from other users' guild
  messages unless the message-content intent is on (or the bot is mentioned),
  and only sends guild ``MESSAGE_CREATE`` with the ``GUILD_MESSAGES`` intent.
  The emulator does the same, so intent mistakes show up in tests.
* A message or an interaction answer carrying ``discord.File``s arrives as
  ``multipart/form-data``: ``payload_json`` plus ``files[n]`` parts; the answer lists them in
  ``attachments`` (snowflake ids, ``url`` served by the emulator, ``size``, ``content_type``,
  ``description``), and their bytes stay in ``fake.attachments`` (`tests.fakes.discord.uploads`).
* Commands are offered only in their synced ``contexts`` and ``integration_types``; a user
  install reaches channels without the bot (group DMs, servers without it), which send the bot
  no events and answer its own calls 403 Missing Access (50001), as on Discord.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.discord.callbacks import INTERACTION_DEADLINE, Callbacks
from tests.fakes.discord.gateway import FakeGateway
from tests.fakes.discord.gateway_wire import (
    CLOSE_UNKNOWN_ERROR,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    GatewayConnection,
    GatewaySession,
)
from tests.fakes.discord.interactions import Interactions
from tests.fakes.discord.messages import Messages
from tests.fakes.discord.records import (
    RecordedAttachment,
    RecordedCallback,
    RecordedMessage,
    RecordedReaction,
    RecordedRequest,
    RecordedWebhookMessage,
    _Injection,
    _Interaction,
)
from tests.fakes.discord.rest import Handler, Rest
from tests.fakes.discord.state import State
from tests.fakes.discord.threads import RecordedThread, Threads
from tests.fakes.discord.uploads import UPLOAD_LIMIT, Uploads
from tests.fakes.discord.waiters import Waiters
from tests.fakes.discord.wire import (
    ADD_REACTIONS,
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    API_PREFIX,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    EMBED_LINKS,
    JSON,
    MESSAGE_FLAG_EPHEMERAL,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    FakeChannel,
    FakeGuild,
    FakeUser,
    SnowflakeFactory,
)
from tests.fakes.loopback import LoopbackServer


class DiscordPatch:
    """Sets ``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY``; restores them on exit.

    Both are class attributes read at call time: every REST call, interaction
    callback and webhook request builds its URL from ``Route.BASE``, and a
    plain ``Client`` connects to ``DEFAULT_GATEWAY`` without asking
    ``/gateway/bot`` (an ``AutoShardedClient`` asks, and gets the fake's URL).
    """

    def __init__(self, api_base: str, gateway_url: str) -> None:
        """Remember the target URLs; nothing is patched until entered."""
        self.api_base = api_base
        self.gateway_url = gateway_url
        self._saved: list[tuple[str, Any]] = []

    def __enter__(self) -> DiscordPatch:
        """Apply the patch."""
        import discord.gateway
        import discord.http
        import yarl

        self._saved.append(
            (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        )
        discord.http.Route.BASE = self.api_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Restore the previous values."""
        import discord.gateway
        import discord.http

        base, gateway = self._saved.pop()
        discord.http.Route.BASE = base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway

    async def __aenter__(self) -> DiscordPatch:
        """Async form of :meth:`__enter__`."""
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Async form of :meth:`__exit__`."""
        self.__exit__(exc_type, exc, tb)


class FakeDiscord(State, Messages, Rest, Interactions, Callbacks, Uploads, Threads, Waiters):
    """A Discord REST + gateway emulator on 127.0.0.1 for driving real discord.py.

    Use as ``async with FakeDiscord() as fake, fake.patch_discord(): ...``.
    The default state is one guild (``fake.default_guild``) with a
    ``#general`` text channel (``fake.default_channel_id``), the bot as a member
    with :data:`DEFAULT_BOT_PERMISSIONS`, and a human admin member
    (``fake.default_user_id``) who sends messages and commands by default.
    """

    def __init__(
        self,
        token: str = "test-token",  # noqa: S107 - a fixed fake token is the point
        *,
        allow_message_content: bool = True,
        allow_members: bool = True,
        allow_presences: bool = True,
        heartbeat_interval_ms: int = 45_000,
        bot_username: str = "maxim-bot",
        application_id: int | None = None,
        interaction_deadline: float | None = INTERACTION_DEADLINE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create the emulator (the server starts in ``__aenter__``/``start``).

        ``allow_*`` mirror the privileged-intent switches of the developer
        portal (requesting a disabled one closes the gateway with 4014).
        ``interaction_deadline`` (seconds, Discord's 3 by default; ``None`` turns
        it off) makes first answers arriving later than that answer 404 Unknown
        interaction (10062). ``clock`` (seconds, monotonic) measures it and the
        nonce window; tests may pass one they move by hand.
        """
        self.token = token
        self.allow_message_content = allow_message_content
        self.allow_members = allow_members
        self.allow_presences = allow_presences
        self.interaction_deadline = interaction_deadline
        self.clock = clock
        self.snowflake = SnowflakeFactory()

        self.application_id = application_id or self.snowflake()
        self.users: dict[int, FakeUser] = {}
        self.bot_user = self.add_user(bot_username, bot=True, user_id=self.application_id)
        self.owner_user = self.add_user("app-owner")
        self.guilds: dict[int, FakeGuild] = {}
        self.channels: dict[int, FakeChannel] = {}

        default_user = self.add_user("tester", global_name="Tester")
        self.default_user_id = default_user.id
        self.default_guild = self.add_guild("Maxim Test Guild", owner_id=default_user.id)
        self.default_guild_id = self.default_guild.id
        self.default_channel_id = self.default_guild.text_channels()[0].id
        self.add_member(self.default_guild_id, default_user.id, permissions=ADMINISTRATOR)

        # recordings
        self.requests: list[RecordedRequest] = []
        self.messages: list[RecordedMessage] = []
        self.interaction_callbacks: list[RecordedCallback] = []
        self.webhook_messages: list[RecordedWebhookMessage] = []
        self.reactions: list[RecordedReaction] = []
        self.synced_commands: dict[int | None, list[JSON]] = {}
        self.command_sync_payloads: list[tuple[int | None, list[JSON]]] = []

        self._message_store: dict[int, JSON] = {}
        self._recorded_by_id: dict[int, RecordedMessage] = {}
        self._nonces: dict[str, tuple[int, float]] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._denied_channels: set[int] = set()
        self._no_attach_channels: set[int] = set()
        self._no_thread_channels: set[int] = set()
        self.threads: list[RecordedThread] = []
        self.attachments: dict[int, RecordedAttachment] = {}
        self.max_request_bytes: int | None = UPLOAD_LIMIT
        self._injections: list[_Injection] = []
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._cond = asyncio.Condition()
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self._register_routes()

        self.gateway = FakeGateway(self, heartbeat_interval_ms=heartbeat_interval_ms)
        self._server: LoopbackServer | None = None

    async def __aenter__(self) -> FakeDiscord:
        """Start the server."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server, closing any gateway connection still open."""
        await self.close()

    async def start(self) -> None:
        """Bind 127.0.0.1 on a free port and start serving REST and gateway."""
        if self._server is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/resume", self.gateway.handle)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        app.router.add_get(
            "/attachments/{channel_id}/{attachment_id:\\d+}/{filename}", self._serve_attachment
        )
        server = LoopbackServer(app)
        port = await server.start()
        self._server = server
        self.gateway.resume_gateway_url = f"ws://127.0.0.1:{port}/gateway/resume"

    async def close(self) -> None:
        """Close gateway connections and shut the server down (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        await self.gateway.close_all(code=1001)
        await server.stop()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._server is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"{self.base_url}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY`` (also answered by /gateway/bot)."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @property
    def resume_gateway_url(self) -> str:
        """The ``resume_gateway_url`` advertised in READY."""
        return self.gateway.resume_gateway_url

    def patch_discord(self) -> DiscordPatch:
        """Point discord.py's REST base and default gateway here; restore on exit.

        Usable as ``with`` or ``async with`` (so it can share one statement with
        ``async with FakeDiscord() as fake, fake.patch_discord():``).  See
        :class:`DiscordPatch` for what is patched.
        """
        return DiscordPatch(self.api_base, self.gateway_url)

    @property
    def heartbeat_interval_ms(self) -> int:
        """HELLO's ``heartbeat_interval`` for new connections (ms)."""
        return self.gateway.heartbeat_interval_ms

    @heartbeat_interval_ms.setter
    def heartbeat_interval_ms(self, value: int) -> None:
        self.gateway.heartbeat_interval_ms = value

    @property
    def identify_count(self) -> int:
        """IDENTIFY payloads received."""
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        """Successful RESUMEs."""
        return self.gateway.resume_count

    @property
    def ready_count(self) -> int:
        """READY (+ GUILD_CREATEs) sent."""
        return self.gateway.ready_count

    @property
    def identify_payloads(self) -> list[JSON]:
        """Every IDENTIFY ``d`` received (``[-1]['intents']`` is the latest intents)."""
        return self.gateway.identify_payloads

    @property
    def gateway_connections(self) -> list[GatewayConnection]:
        """Every websocket connection (path, query, compression, close code...)."""
        return self.gateway.connections

    @property
    def heartbeat_count(self) -> int:
        """Heartbeats received."""
        return self.gateway.heartbeat_count

    async def send_reconnect(self) -> int:
        """Send op 7 RECONNECT; discord.py reconnects to resume_gateway_url and RESUMEs."""
        return await self.gateway.send_reconnect()

    async def drop_connection(self, code: int | None = CLOSE_UNKNOWN_ERROR) -> int:
        """Close live connections with ``code`` (``None``: abort TCP, i.e. 1006)."""
        return await self.gateway.drop_connection(code)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 INVALID_SESSION (the client then re-IDENTIFYs unless resumable)."""
        await self.gateway.invalidate_session(resumable=resumable)

    def gateway_disallowed_intents(self, intents: int) -> int:
        """Privileged bits requested in IDENTIFY that the 'portal' does not allow."""
        disallowed = 0
        if not self.allow_message_content:
            disallowed |= INTENT_MESSAGE_CONTENT
        if not self.allow_members:
            disallowed |= INTENT_GUILD_MEMBERS
        if not self.allow_presences:
            disallowed |= INTENT_GUILD_PRESENCES
        return intents & disallowed

    def gateway_ready_payload(self, session: GatewaySession, resume_gateway_url: str) -> JSON:
        """READY: user, unavailable guild stubs, session id, resume URL, application."""
        guilds = [g for g in self._bot_guilds() if session.handles_guild(g.id)]
        ready: JSON = {
            "v": 10,
            "user": self._me_payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": resume_gateway_url,
            "application": {"id": str(self.application_id), "flags": self._application_flags()},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "user_settings": {},
            "auth": {},
            "_trace": ["fake-discord"],
        }
        if session.shard is not None:
            ready["shard"] = list(session.shard)
        return ready

    def gateway_guild_payloads(self, session: GatewaySession) -> list[JSON]:
        """GUILD_CREATE payloads for the session's guilds."""
        return [
            self._guild_create_payload(g, session.intents)
            for g in self._bot_guilds()
            if session.handles_guild(g.id)
        ]

    async def gateway_changed(self) -> None:
        """Wake waiters on gateway activity."""
        await self._notify()


__all__ = [
    "ADD_REACTIONS",
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "EMBED_LINKS",
    "INTERACTION_DEADLINE",
    "MESSAGE_FLAG_EPHEMERAL",
    "SEND_MESSAGES",
    "SEND_MESSAGES_IN_THREADS",
    "VIEW_CHANNEL",
    "DiscordPatch",
    "FakeDiscord",
    "RecordedCallback",
    "RecordedMessage",
    "RecordedReaction",
    "RecordedRequest",
    "RecordedThread",
    "RecordedWebhookMessage",
]
