"""Loopback Discord emulator (REST API + gateway) for end-to-end bot tests.

Why this exists: mocking discord.py objects tests our assumptions about
discord.py, not discord.py.  Instead the tests start :class:`FakeDiscord` -- one
aiohttp server on ``127.0.0.1`` serving ``/api/v10/...`` and the gateway
websocket -- point the real library at it with :meth:`FakeDiscord.patch_discord`
and drive a real ``discord.Client``/``Bot``.  Everything the bot does over REST
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
* ``channel.send`` always sends a random ``nonce`` with ``enforce_nonce``; a
  repeat of the nonce within five minutes returns the earlier message.
* Discord echoes the bot's own messages back as ``MESSAGE_CREATE``, strips
  ``content``/``embeds``/``attachments``/``components`` from other users' guild
  messages unless the message-content intent is on (or the bot is mentioned),
  and only sends guild ``MESSAGE_CREATE`` with the ``GUILD_MESSAGES`` intent.
  The emulator does the same, so intent mistakes show up in tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import json
import math
import re
import secrets
import time
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

from aiohttp import BodyPartReader, web

from tests.fakes.discord.gateway import (
    CLOSE_UNKNOWN_ERROR,
    INTENT_DIRECT_MESSAGES,
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_MESSAGES,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    FakeGateway,
    GatewayConnection,
    GatewaySession,
)

JSON = dict[str, Any]
API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
NONCE_WINDOW_SECONDS = 300.0
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024

# -- permission bits (https://discord.com/developers/docs/topics/permissions) --
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

DEFAULT_EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | SEND_MESSAGES_IN_THREADS
)
DEFAULT_BOT_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | SEND_MESSAGES_IN_THREADS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_EXTERNAL_EMOJIS
    | USE_APPLICATION_COMMANDS
)

# -- application flags advertised in READY / application info --
APP_FLAG_GATEWAY_PRESENCE_LIMITED = 1 << 13
APP_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED = 1 << 15
APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
APP_FLAG_APPLICATION_COMMAND_BADGE = 1 << 23

# -- channel, message and interaction enums used on the wire --
CHANNEL_TEXT = 0
CHANNEL_DM = 1
CHANNEL_VOICE = 2
CHANNEL_CATEGORY = 4
CHANNEL_NEWS = 5
MESSAGE_DEFAULT = 0
MESSAGE_REPLY = 19
MESSAGE_CHAT_INPUT_COMMAND = 20
MESSAGE_CONTEXT_MENU_COMMAND = 23
MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7
INTERACTION_PING = 1
INTERACTION_APPLICATION_COMMAND = 2
INTERACTION_MESSAGE_COMPONENT = 3
INTERACTION_AUTOCOMPLETE = 4
INTERACTION_MODAL_SUBMIT = 5
CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9
CALLBACK_LAUNCH_ACTIVITY = 12

# Which callback types each interaction type accepts (Discord answers 400 otherwise).
_ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    INTERACTION_PING: frozenset({CALLBACK_PONG}),
    INTERACTION_APPLICATION_COMMAND: frozenset(
        {
            CALLBACK_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_CHANNEL_MESSAGE,
            CALLBACK_MODAL,
            CALLBACK_LAUNCH_ACTIVITY,
        }
    ),
    INTERACTION_MESSAGE_COMPONENT: frozenset(
        {
            CALLBACK_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_UPDATE_MESSAGE,
            CALLBACK_UPDATE_MESSAGE,
            CALLBACK_MODAL,
            CALLBACK_LAUNCH_ACTIVITY,
        }
    ),
    INTERACTION_AUTOCOMPLETE: frozenset({CALLBACK_AUTOCOMPLETE_RESULT}),
    INTERACTION_MODAL_SUBMIT: frozenset(
        {
            CALLBACK_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_UPDATE_MESSAGE,
            CALLBACK_UPDATE_MESSAGE,
        }
    ),
}

_COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")
_USER_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")
_ID = r"(\d+)"
_TOKEN = r"([^/]+)"


def _now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class SnowflakeFactory:
    """Strictly increasing snowflakes whose timestamp part is 'now'.

    Real-looking ids matter: discord.py derives ``created_at`` from them, and
    increasing ids keep history ordering sane.
    """

    def __init__(self) -> None:
        self._last = 0

    def __call__(self) -> int:
        """Return the next id."""
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(candidate, self._last + 1)
        return self._last


# ---------------------------------------------------------------------------
# Emulated state
# ---------------------------------------------------------------------------


@dataclass
class FakeUser:
    """A Discord user (human, bot or the bot itself)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> JSON:
        """Wire shape of a user object."""
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "system": False,
            "public_flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }


@dataclass
class FakeRole:
    """A guild role; the role whose id equals the guild id is @everyone."""

    id: int
    name: str
    permissions: int
    position: int = 0
    bot_id: int | None = None

    def payload(self) -> JSON:
        """Wire shape of a role object."""
        data: JSON = {
            "id": str(self.id),
            "name": self.name,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": self.position,
            "permissions": str(self.permissions),
            "managed": self.bot_id is not None,
            "mentionable": False,
            "flags": 0,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


@dataclass
class FakeChannel:
    """A guild channel (text/voice/category/news) or a DM channel."""

    id: int
    name: str
    type: int = CHANNEL_TEXT
    guild_id: int | None = None
    position: int = 0
    topic: str | None = None
    parent_id: int | None = None
    nsfw: bool = False
    overwrites: list[JSON] = field(default_factory=list)
    recipient_ids: list[int] = field(default_factory=list)
    last_message_id: int | None = None

    @property
    def is_dm(self) -> bool:
        """True for DM channels (no guild)."""
        return self.type == CHANNEL_DM

    def payload(self, users: Mapping[int, FakeUser], *, include_guild_id: bool = True) -> JSON:
        """Wire shape of a channel object."""
        last = str(self.last_message_id) if self.last_message_id else None
        if self.is_dm:
            return {
                "id": str(self.id),
                "type": CHANNEL_DM,
                "last_message_id": last,
                "flags": 0,
                "recipients": [users[u].payload() for u in self.recipient_ids if u in users],
            }
        data: JSON = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "permission_overwrites": copy.deepcopy(self.overwrites),
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "nsfw": self.nsfw,
            "flags": 0,
        }
        if include_guild_id and self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if self.type in (CHANNEL_TEXT, CHANNEL_NEWS):
            data.update(
                topic=self.topic,
                last_message_id=last,
                rate_limit_per_user=0,
                default_auto_archive_duration=1440,
            )
        elif self.type == CHANNEL_VOICE:
            data.update(bitrate=64000, user_limit=0, rtc_region=None, last_message_id=last)
        return data


@dataclass
class FakeMember:
    """Membership of a user in a guild (roles exclude @everyone, like the API)."""

    user_id: int
    role_ids: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=_now_iso)

    def payload(self, user: FakeUser | None = None, *, permissions: int | None = None) -> JSON:
        """Wire shape of a guild member (with ``user`` when given)."""
        data: JSON = {
            "nick": self.nick,
            "avatar": None,
            "banner": None,
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "communication_disabled_until": None,
        }
        if user is not None:
            data["user"] = user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeGuild:
    """A guild with roles, channels and members."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, FakeRole] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    members: dict[int, FakeMember] = field(default_factory=dict)
    locale: str = "en-US"
    joined_at: str = field(default_factory=_now_iso)

    @property
    def everyone(self) -> FakeRole:
        """The @everyone role (same id as the guild)."""
        return self.roles[self.id]

    def text_channels(self) -> list[FakeChannel]:
        """Text channels, in position order."""
        found = [c for c in self.channels.values() if c.type in (CHANNEL_TEXT, CHANNEL_NEWS)]
        return sorted(found, key=lambda c: (c.position, c.id))


# ---------------------------------------------------------------------------
# Recordings
# ---------------------------------------------------------------------------


@dataclass
class RecordedFile:
    """A file uploaded in a multipart request."""

    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """One REST call as received (``path`` is relative to ``/api/v10``, decoded)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    files: list[RecordedFile] = field(default_factory=list)
    status: int = 0
    response: Any = None


@dataclass
class RecordedMessage:
    """A message the bot posted with ``POST /channels/{id}/messages``."""

    id: int
    channel_id: int
    content: str | None
    embeds: list[JSON]
    allowed_mentions: JSON | None
    message_reference: JSON | None
    nonce: str | int | None
    components: list[JSON]
    flags: int
    tts: bool
    payload: JSON
    files: list[RecordedFile] = field(default_factory=list)
    edits: list[JSON] = field(default_factory=list)
    deleted: bool = False


@dataclass
class RecordedCallback:
    """An interaction callback (``POST /interactions/{id}/{token}/callback``)."""

    interaction_id: int
    interaction_type: int
    type: int
    data: JSON | None
    token: str
    message_id: int | None
    payload: JSON
    files: list[RecordedFile] = field(default_factory=list)

    @property
    def content(self) -> str | None:
        """``data.content`` for message callbacks (types 4 and 7)."""
        return None if self.data is None else self.data.get("content")

    @property
    def ephemeral(self) -> bool:
        """Whether the EPHEMERAL flag was set."""
        return bool(self.data and int(self.data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)


@dataclass
class RecordedWebhookMessage:
    """A webhook-token message operation (interaction follow-ups and edits)."""

    action: Literal["create", "edit", "delete"]
    application_id: int
    token: str
    interaction_id: int | None
    message_id: int | None
    original: bool
    payload: JSON
    files: list[RecordedFile] = field(default_factory=list)

    @property
    def content(self) -> str | None:
        """``content`` of the request body."""
        return self.payload.get("content")

    @property
    def embeds(self) -> list[JSON]:
        """``embeds`` of the request body."""
        return list(self.payload.get("embeds") or [])

    @property
    def components(self) -> list[JSON]:
        """``components`` of the request body."""
        return list(self.payload.get("components") or [])

    @property
    def flags(self) -> int:
        """``flags`` of the request body."""
        return int(self.payload.get("flags") or 0)


@dataclass
class RecordedReaction:
    """A reaction the bot added (``removed`` flips when it takes it back)."""

    channel_id: int
    message_id: int
    emoji: str
    user_id: int
    removed: bool = False


@dataclass
class _Interaction:
    id: int
    token: str
    type: int
    channel_id: int
    guild_id: int | None
    user_id: int
    data: JSON
    created: float
    command_name: str | None = None
    command_type: int | None = None
    component_message_id: int | None = None
    response_type: int | None = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)


@dataclass
class _Injection:
    method: str | None
    matcher: str | re.Pattern[str]
    status: int
    body: JSON | None
    headers: dict[str, str]
    remaining: int

    def matches(self, method: str, path: str) -> bool:
        if self.method not in (None, "*") and self.method.upper() != method:
            return False
        if isinstance(self.matcher, re.Pattern):
            return self.matcher.search(path) is not None
        return path.startswith(self.matcher)


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def to_response(self) -> web.Response:
        if self.body is None:
            return web.Response(status=self.status, headers=self.headers)
        raw = json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()
        # Exactly "application/json": discord.py compares the header verbatim.
        headers = {"Content-Type": "application/json", **self.headers}
        return web.Response(status=self.status, body=raw, headers=headers)


class _ApiError(Exception):
    def __init__(self, status: int, message: str, code: int, errors: JSON | None = None) -> None:
        super().__init__(message)
        body: JSON = {"message": message, "code": code}
        if errors is not None:
            body["errors"] = errors
        self.reply = _Reply(status, body)


def _form_error(path: list[str], code: str, message: str) -> _ApiError:
    errors: JSON = {"_errors": [{"code": code, "message": message}]}
    for key in reversed(path):
        errors = {key: errors}
    return _ApiError(400, "Invalid Form Body", 50035, errors)


def _unknown_channel() -> _ApiError:
    return _ApiError(404, "Unknown Channel", 10003)


def _unknown_message() -> _ApiError:
    return _ApiError(404, "Unknown Message", 10008)


def _unknown_webhook() -> _ApiError:
    return _ApiError(404, "Unknown Webhook", 10015)


def _walk_components(components: Iterable[JSON] | None) -> Iterator[JSON]:
    for comp in components or ():
        if not isinstance(comp, dict):
            continue
        yield comp
        yield from _walk_components(comp.get("components"))
        for key in ("component", "accessory"):
            inner = comp.get(key)
            if isinstance(inner, dict):
                yield from _walk_components([inner])


def _embed_length(embed: JSON) -> int:
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for fld in embed.get("fields") or []:
        total += len(fld.get("name") or "") + len(fld.get("value") or "")
    return total


def _validate_message_body(body: JSON, *, has_files: bool, require_content: bool) -> None:
    """Apply the limits Discord enforces on message bodies (400s like the real API)."""
    content = body.get("content")
    if content is not None and len(str(content)) > 2000:
        raise _form_error(["content"], "BASE_TYPE_MAX_LENGTH", "Must be 2000 or fewer in length.")
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        raise _form_error(["embeds"], "BASE_TYPE_MAX_LENGTH", "Must be 10 or fewer in length.")
    for index, embed in enumerate(embeds):
        if len(embed.get("title") or "") > 256:
            raise _form_error(
                ["embeds", str(index), "title"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 256 or fewer in length.",
            )
        if len(embed.get("description") or "") > 4096:
            raise _form_error(
                ["embeds", str(index), "description"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 4096 or fewer in length.",
            )
        if len(embed.get("fields") or []) > 25:
            raise _form_error(
                ["embeds", str(index), "fields"],
                "BASE_TYPE_MAX_LENGTH",
                "Must be 25 or fewer in length.",
            )
    if sum(_embed_length(e) for e in embeds) > 6000:
        raise _form_error(
            ["embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    if require_content and not (
        content
        or embeds
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or has_files
    ):
        raise _ApiError(400, "Cannot send an empty message", 50006)


def _modal_submission(components: Iterable[JSON], values: Mapping[str, Any]) -> list[JSON]:
    """Mirror a modal's layout into the MODAL_SUBMIT ``components`` shape."""
    out: list[JSON] = []
    for comp in components:
        ctype = comp.get("type")
        if ctype == 1:
            out.append(
                {"type": 1, "components": _modal_submission(comp.get("components", []), values)}
            )
        elif ctype == 18 and isinstance(comp.get("component"), dict):
            inner = _modal_submission([comp["component"]], values)
            if inner:
                out.append({"type": 18, "component": inner[0]})
        elif ctype == 4:
            cid = comp.get("custom_id", "")
            out.append(
                {
                    "type": 4,
                    "custom_id": cid,
                    "value": str(values.get(cid, comp.get("value") or "")),
                }
            )
        elif ctype in (3, 5, 6, 7, 8):
            cid = comp.get("custom_id", "")
            raw = values.get(cid, [])
            out.append(
                {
                    "type": ctype,
                    "custom_id": cid,
                    "values": [raw] if isinstance(raw, str) else list(raw),
                }
            )
    return out


def _option_type_for(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3


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


Handler = Callable[[RecordedRequest, "re.Match[str]"], Awaitable[_Reply]]


class FakeDiscord:
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
        interaction_deadline: float | None = None,
    ) -> None:
        """Create the emulator (the server starts in ``__aenter__``/``start``).

        ``allow_*`` mirror the privileged-intent switches of the developer
        portal (requesting a disabled one closes the gateway with 4014).
        ``interaction_deadline`` (seconds), when set, makes callbacks arriving
        later than that answer 404 Unknown interaction, like Discord's 3 s rule.
        """
        self.token = token
        self.allow_message_content = allow_message_content
        self.allow_members = allow_members
        self.allow_presences = allow_presences
        self.interaction_deadline = interaction_deadline
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
        self.typing: list[int] = []

        self._message_store: dict[int, JSON] = {}
        self._recorded_by_id: dict[int, RecordedMessage] = {}
        self._nonces: dict[str, tuple[int, float]] = {}
        self._interactions: dict[int, _Interaction] = {}
        self._denied_channels: set[int] = set()
        self._injections: list[_Injection] = []
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        self._cond = asyncio.Condition()
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool]] = []
        self._register_routes()

        self.gateway = FakeGateway(self, heartbeat_interval_ms=heartbeat_interval_ms)
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------

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
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/resume", self.gateway.handle)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._port = int(sockets[0].getsockname()[1])
        self._runner = runner
        self.gateway.resume_gateway_url = f"ws://127.0.0.1:{self._port}/gateway/resume"

    async def close(self) -> None:
        """Close gateway connections and shut the server down (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        await self.gateway.close_all(code=1001)
        await runner.cleanup()

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        if self._port is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._port

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

    # ------------------------------------------------------------------
    # state helpers
    # ------------------------------------------------------------------

    @property
    def bot_id(self) -> int:
        """The bot user's id (equal to the application id, as for real bots)."""
        return self.bot_user.id

    def add_user(
        self,
        username: str,
        *,
        bot: bool = False,
        user_id: int | None = None,
        global_name: str | None = None,
    ) -> FakeUser:
        """Create (or replace) a user."""
        user = FakeUser(
            id=user_id or self.snowflake(), username=username, bot=bot, global_name=global_name
        )
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Guild",
        *,
        guild_id: int | None = None,
        owner_id: int | None = None,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        channel_name: str | None = "general",
        locale: str = "en-US",
    ) -> FakeGuild:
        """Create a guild the bot is in: @everyone, a managed bot role and ``#general``.

        Guilds added after the client connected are only seen by it after
        ``await fake.announce_guild(guild.id)`` (GUILD_CREATE).
        """
        gid = guild_id or self.snowflake()
        guild = FakeGuild(id=gid, name=name, owner_id=owner_id or self.owner_user.id, locale=locale)
        guild.roles[gid] = FakeRole(id=gid, name="@everyone", permissions=everyone_permissions)
        bot_role = FakeRole(
            id=self.snowflake(),
            name=self.bot_user.username,
            permissions=bot_permissions,
            position=1,
            bot_id=self.bot_id,
        )
        guild.roles[bot_role.id] = bot_role
        guild.members[self.bot_id] = FakeMember(user_id=self.bot_id, role_ids=[bot_role.id])
        self.guilds[gid] = guild
        if channel_name is not None:
            self.add_channel(gid, channel_name)
        return guild

    def add_channel(
        self,
        guild_id: int | None = None,
        name: str = "general",
        *,
        channel_type: int = CHANNEL_TEXT,
        channel_id: int | None = None,
        topic: str | None = None,
        parent_id: int | None = None,
        overwrites: list[JSON] | None = None,
    ) -> FakeChannel:
        """Add a guild channel (text by default); ``overwrites`` use the wire shape."""
        guild = self._guild(guild_id)
        channel = FakeChannel(
            id=channel_id or self.snowflake(),
            name=name,
            type=channel_type,
            guild_id=guild.id,
            position=len(guild.channels),
            topic=topic,
            parent_id=parent_id,
            overwrites=list(overwrites or []),
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def add_text_channel(
        self, guild_id: int | None = None, name: str = "general", **kwargs: Any
    ) -> FakeChannel:
        """Shorthand for :meth:`add_channel` with a text channel."""
        return self.add_channel(guild_id, name, channel_type=CHANNEL_TEXT, **kwargs)

    def add_role(self, guild_id: int | None, name: str, permissions: int = 0) -> FakeRole:
        """Add a role to a guild."""
        guild = self._guild(guild_id)
        role = FakeRole(
            id=self.snowflake(), name=name, permissions=permissions, position=len(guild.roles)
        )
        guild.roles[role.id] = role
        return role

    def add_member(
        self,
        guild_id: int | None = None,
        user_id: int | None = None,
        *,
        username: str | None = None,
        permissions: int | None = None,
        role_ids: Iterable[int] = (),
        bot: bool = False,
        nick: str | None = None,
    ) -> FakeMember:
        """Add a member (creating the user if needed).

        ``permissions`` creates a dedicated role granting exactly those bits
        (on top of @everyone); use ``ADMINISTRATOR`` for an admin.
        """
        guild = self._guild(guild_id)
        if user_id is None or user_id not in self.users:
            user = self.add_user(username or f"user{len(self.users)}", bot=bot, user_id=user_id)
            user_id = user.id
        roles = list(role_ids)
        if permissions is not None:
            role = self.add_role(guild.id, f"perms-{self.users[user_id].username}", permissions)
            roles.append(role.id)
        member = FakeMember(user_id=user_id, role_ids=roles, nick=nick)
        guild.members[user_id] = member
        return member

    def add_dm_channel(self, user_id: int | None = None) -> FakeChannel:
        """Return the DM channel between the bot and ``user_id`` (created on demand)."""
        uid = user_id or self.default_user_id
        for channel in self.channels.values():
            if channel.is_dm and channel.recipient_ids == [uid]:
                return channel
        if uid not in self.users:
            self.add_user(f"user{len(self.users)}", user_id=uid)
        channel = FakeChannel(id=self.snowflake(), name="", type=CHANNEL_DM, recipient_ids=[uid])
        self.channels[channel.id] = channel
        return channel

    def deny_channel(self, channel_id: int) -> None:
        """Make bot posts/reactions in ``channel_id`` fail with 403 Missing Permissions.

        Only the REST answer (and ``app_permissions`` of later interactions)
        changes; the client's cached permission overwrites do not.
        """
        self._denied_channels.add(channel_id)

    def allow_channel(self, channel_id: int) -> None:
        """Undo :meth:`deny_channel`."""
        self._denied_channels.discard(channel_id)

    def permissions_for(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        """Compute a member's permissions the way Discord does (roles, admin, overwrites)."""
        guild = self._guild(guild_id)
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        role_ids = member.role_ids if member else []
        perms = guild.everyone.permissions
        for rid in role_ids:
            if rid in guild.roles:
                perms |= guild.roles[rid].permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        channel = guild.channels.get(channel_id) if channel_id else None
        if channel is not None:
            by_id = {int(o["id"]): o for o in channel.overwrites}
            everyone = by_id.get(guild.id)
            if everyone:
                perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
            allow = deny = 0
            for rid in role_ids:
                ow = by_id.get(rid)
                if ow and int(ow.get("type", 0)) == 0:
                    allow |= int(ow["allow"])
                    deny |= int(ow["deny"])
            perms = (perms & ~deny) | allow
            ow = by_id.get(user_id)
            if ow and int(ow.get("type", 1)) == 1:
                perms = (perms & ~int(ow["deny"])) | int(ow["allow"])
        if channel_id in self._denied_channels:
            perms &= ~(SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | ADD_REACTIONS)
        return perms

    def get_message(self, message_id: int) -> JSON | None:
        """The current REST shape of a stored message (user's or bot's), if any."""
        msg = self._message_store.get(message_id)
        return copy.deepcopy(msg) if msg is not None else None

    def original_response(self, interaction_id: int) -> JSON | None:
        """The current original-response message of an interaction, if any."""
        itx = self._interactions.get(interaction_id)
        if itx is None or itx.original_message_id is None:
            return None
        return self.get_message(itx.original_message_id)

    def followups(self, interaction_id: int) -> list[RecordedWebhookMessage]:
        """Follow-up messages created for an interaction."""
        return [
            w
            for w in self.webhook_messages
            if w.interaction_id == interaction_id and w.action == "create"
        ]

    def rate_limit_next(
        self,
        method: str | None,
        path: str | re.Pattern[str],
        retry_after: float = 0.05,
        times: int = 1,
        global_: bool = False,
    ) -> None:
        """Answer the next ``times`` matching REST calls with a 429.

        ``path`` is a prefix of the API path (e.g. ``"/channels/"``) or a compiled
        regex searched in it; ``method`` ``None``/``"*"`` matches any method.
        The answer is shaped like Discord's (``Via`` header included, so
        discord.py retries after ``retry_after`` instead of raising).
        """
        scope = "global" if global_ else "user"
        headers = {
            "Via": "1.1 google",
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
            "X-RateLimit-Reset-After": f"{retry_after:.3f}",
            "X-RateLimit-Bucket": "fake0bucket0" + secrets.token_hex(4),
            "X-RateLimit-Scope": scope,
        }
        if global_:
            headers["X-RateLimit-Global"] = "true"
        body = {
            "message": "You are being rate limited.",
            "retry_after": retry_after,
            "global": global_,
        }
        self._injections.append(_Injection(method, path, 429, body, headers, times))

    def fail_next(
        self,
        method: str | None,
        path: str | re.Pattern[str],
        status: int = 500,
        body: JSON | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` matching REST calls with ``status``/``body``.

        Note discord.py retries 500/502/504 after sleeping 1 s, 3 s, ... -- prefer
        4xx codes in fast tests.
        """
        reply = body if body is not None else {"message": f"{status}: injected failure", "code": 0}
        self._injections.append(_Injection(method, path, status, reply, {}, times))

    # ------------------------------------------------------------------
    # gateway controls and counters
    # ------------------------------------------------------------------

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

    async def dispatch(self, event: str, data: JSON, *, guild_id: int | None = None) -> int:
        """Send any gateway event verbatim; returns the number of sessions it went to."""
        return await self.gateway.dispatch(event, data, guild_id=guild_id)

    async def announce_guild(self, guild_id: int) -> None:
        """Dispatch GUILD_CREATE for a guild added after the client connected."""
        guild = self._guild(guild_id)

        def per_session(session: GatewaySession, _data: JSON) -> JSON:
            return self._guild_create_payload(guild, session.intents)

        await self.gateway.dispatch("GUILD_CREATE", {}, guild_id=guild.id, transform=per_session)

    # ------------------------------------------------------------------
    # event helpers (what users do in Discord)
    # ------------------------------------------------------------------

    async def send_message(
        self,
        channel_id: int | None = None,
        content: str = "",
        *,
        author_id: int | None = None,
        bot: bool = False,
        webhook_id: int | None = None,
        username: str | None = None,
        embeds: list[JSON] | None = None,
        reply_to: int | None = None,
        attachments: list[JSON] | None = None,
    ) -> int:
        """A user posts in a channel: stores the message and dispatches MESSAGE_CREATE.

        The author defaults to the default human member; ``bot=True`` without
        ``author_id`` uses a separate bot account; ``webhook_id`` makes it a
        webhook message.  Like Discord, clients without the message-content
        intent receive ``content=""`` unless the bot is mentioned or it is a DM.
        Returns the message id.
        """
        channel = self._channel(channel_id or self.default_channel_id)
        if webhook_id is not None:
            author = {
                "id": str(webhook_id),
                "username": username or "Captain Hook",
                "discriminator": "0000",
                "global_name": None,
                "avatar": None,
                "bot": True,
            }
            author_uid = webhook_id
        else:
            user = self._ensure_user(author_id, bot=bot, username=username)
            if (
                channel.guild_id is not None
                and user.id not in self.guilds[channel.guild_id].members
            ):
                self.add_member(channel.guild_id, user.id)
            author = user.payload()
            author_uid = user.id
        msg = self._build_message(
            channel,
            author,
            content=content,
            embeds=embeds or [],
            attachments=attachments or [],
            allowed_mentions=None,
            reference=self._reference_payload(channel, reply_to) if reply_to else None,
            webhook_id=webhook_id,
        )
        self._store_message(msg)
        await self._dispatch_message(msg, channel, author_uid, webhook=webhook_id is not None)
        return int(msg["id"])

    async def flood_messages(
        self,
        contents: Sequence[str],
        channel_id: int | None = None,
        *,
        author_id: int | None = None,
        connection: GatewayConnection | None = None,
    ) -> list[int]:
        """Push one MESSAGE_CREATE per content as fast as the clients take them (benchmarks).

        Unlike :meth:`send_message`, nothing is stored or recorded and the events are not
        replayed on RESUME: each distinct content becomes one JSON template (intents applied
        per session, like :meth:`send_message`), every message gets a fresh id spliced into
        it, and the frames are encoded and compressed before the first one is sent, so the
        emulator's own cost stays out of the client's way.  ``connection`` limits the flood to
        that connection's session (to compare clients connected side by side).  Returns the
        message ids.
        """
        channel = self._channel(channel_id or self.default_channel_id)
        user = self._ensure_user(author_id)
        if channel.guild_id is not None and user.id not in self.guilds[channel.guild_id].members:
            self.add_member(channel.guild_id, user.id)
        placeholder = "\u0000message-id\u0000"
        templates: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {}
        for content in dict.fromkeys(contents):
            msg = self._build_message(
                channel,
                user.payload(),
                content=content,
                embeds=[],
                attachments=[],
                allowed_mentions=None,
                reference=None,
            )
            data = self._gateway_message(msg, channel, webhook=False)
            data["id"] = placeholder
            stripped = copy.deepcopy(data)
            stripped.update(content="", embeds=[], attachments=[], components=[])
            pair = []
            for variant in (data, stripped):
                raw = json.dumps(variant, separators=(",", ":"), ensure_ascii=False)
                before, after = raw.split(json.dumps(placeholder), 1)
                pair.append((before + '"', '"' + after))
            templates[content] = (pair[0], pair[1])
        ids = [self.snowflake() for _ in contents]
        required = INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES

        def bodies_for(session: GatewaySession) -> list[str] | None:
            if connection is not None and session is not connection.session:
                return None
            if not session.intents & required:
                return None
            variant = 0 if channel.is_dm or session.intents & INTENT_MESSAGE_CONTENT else 1
            return [
                f"{templates[content][variant][0]}{mid}{templates[content][variant][1]}"
                for content, mid in zip(contents, ids, strict=True)
            ]

        await self.gateway.flood("MESSAGE_CREATE", bodies_for, guild_id=channel.guild_id)
        return ids

    async def send_command(
        self,
        name: str,
        options: list[JSON] | Mapping[str, Any] | None = None,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        member_permissions: int | str | None = None,
        app_permissions: int | str | None = None,
        resolved: JSON | None = None,
        command_type: int = 1,
        target_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """A user runs an application command: dispatches INTERACTION_CREATE type 2.

        ``options`` is the wire list (``[{"name":..,"type":..,"value":..}]``,
        sub-commands nested) or a ``{name: value}`` mapping typed from the synced
        command definition.  ``data.id``/``data.guild_id`` come from the synced
        command when known.  ``member_permissions`` defaults to the member's
        computed permissions (all bits for admins, as Discord sends).
        Returns the interaction id.
        """
        channel = self._interaction_channel(channel_id, guild_id)
        command, scope = self._find_command(name, channel.guild_id, command_type)
        data: JSON = {"id": str(self._command_id(name, scope, command_type, command)), "name": name}
        data["type"] = command_type
        if scope is not None:
            data["guild_id"] = str(scope)
        if options:
            data["options"] = self._build_options(options, command)
        if resolved:
            data["resolved"] = resolved
        if target_id is not None:
            data["target_id"] = str(target_id)
        return await self._send_interaction(
            INTERACTION_APPLICATION_COMMAND,
            data,
            channel=channel,
            user_id=user_id,
            member_permissions=member_permissions,
            app_permissions=app_permissions,
            locale=locale,
            command_name=name,
            command_type=command_type,
        )

    async def send_autocomplete(
        self,
        name: str,
        options: list[JSON] | Mapping[str, Any],
        *,
        focused: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        member_permissions: int | str | None = None,
        locale: str = "en-US",
    ) -> int:
        """A user types in an autocompleted option: INTERACTION_CREATE type 4.

        With the list form mark the option ``"focused": True`` yourself; with the
        mapping form pass ``focused=<option name>``.  Returns the interaction id.
        """
        channel = self._interaction_channel(channel_id, guild_id)
        command, scope = self._find_command(name, channel.guild_id, 1)
        built = self._build_options(options, command)
        if focused is not None:
            for opt in self._flat_options(built):
                if opt.get("name") == focused:
                    opt["focused"] = True
                    opt["value"] = str(opt.get("value", ""))
        data: JSON = {"id": str(self._command_id(name, scope, 1, command)), "name": name, "type": 1}
        if scope is not None:
            data["guild_id"] = str(scope)
        data["options"] = built
        return await self._send_interaction(
            INTERACTION_AUTOCOMPLETE,
            data,
            channel=channel,
            user_id=user_id,
            member_permissions=member_permissions,
            app_permissions=None,
            locale=locale,
            command_name=name,
            command_type=1,
        )

    async def send_component(
        self,
        custom_id: str,
        message: JSON | int | None = None,
        *,
        user_id: int | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        member_permissions: int | str | None = None,
        locale: str = "en-US",
    ) -> int:
        """A user clicks a button / picks from a select: INTERACTION_CREATE type 3.

        ``message`` is the message carrying the component (dict or stored
        message id); by default the newest stored message whose components
        contain ``custom_id``.  Selects (``component_type`` 3, 5-8) get
        ``values``.  Returns the interaction id.
        """
        msg = self._component_message(custom_id, message)
        channel = self._channel(int(msg["channel_id"]))
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = list(values or [])
        return await self._send_interaction(
            INTERACTION_MESSAGE_COMPONENT,
            data,
            channel=channel,
            user_id=user_id,
            member_permissions=member_permissions,
            app_permissions=None,
            locale=locale,
            message=msg,
        )

    async def send_modal_submit(
        self,
        custom_id: str,
        values: Mapping[str, Any],
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        member_permissions: int | str | None = None,
        locale: str = "en-US",
    ) -> int:
        """A user submits a modal: INTERACTION_CREATE type 5.

        The submitted ``components`` mirror the layout of the modal the bot last
        opened with that ``custom_id`` (action rows or labels), filled from
        ``values`` (``{input custom_id: text}``).  Returns the interaction id.
        """
        layout: list[JSON] | None = None
        source: _Interaction | None = None
        for cb in reversed(self.interaction_callbacks):
            if cb.type == CALLBACK_MODAL and cb.data and cb.data.get("custom_id") == custom_id:
                layout = list(cb.data.get("components") or [])
                source = self._interactions.get(cb.interaction_id)
                break
        if layout is None:
            layout = [{"type": 1, "components": [{"type": 4, "custom_id": key}]} for key in values]
        data: JSON = {"custom_id": custom_id, "components": _modal_submission(layout, values)}
        if channel_id is None and source is not None:
            channel_id = source.channel_id
        channel = self._interaction_channel(channel_id, None)
        msg = None
        if source is not None and source.component_message_id is not None:
            msg = self._message_store.get(source.component_message_id)
        return await self._send_interaction(
            INTERACTION_MODAL_SUBMIT,
            data,
            channel=channel,
            user_id=user_id,
            member_permissions=member_permissions,
            app_permissions=None,
            locale=locale,
            message=copy.deepcopy(msg) if msg else None,
        )

    # ------------------------------------------------------------------
    # waiters
    # ------------------------------------------------------------------

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,
        description: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds (re-checked whenever something is recorded).

        Raises ``AssertionError`` with a summary of the recordings on timeout.
        """
        try:
            async with asyncio.timeout(timeout), self._cond:
                await self._cond.wait_for(predicate)
        except TimeoutError:
            summary = self.describe()
            raise AssertionError(
                f"FakeDiscord: timed out after {timeout}s waiting for {description}\n{summary}"
            ) from None

    async def wait_for_messages(
        self, count: int = 1, timeout: float = 5.0, *, channel_id: int | None = None
    ) -> list[RecordedMessage]:
        """Wait until at least ``count`` channel posts (optionally in one channel) exist."""

        def matching() -> list[RecordedMessage]:
            return [m for m in self.messages if channel_id is None or m.channel_id == channel_id]

        await self.wait_for(
            lambda: len(matching()) >= count,
            timeout=timeout,
            description=f"{count} channel message(s)",
        )
        return matching()

    async def wait_for_callback(
        self, interaction_id: int, timeout: float = 5.0
    ) -> RecordedCallback:
        """Wait for the callback answering ``interaction_id``."""

        def found() -> RecordedCallback | None:
            return next(
                (c for c in self.interaction_callbacks if c.interaction_id == interaction_id), None
            )

        await self.wait_for(
            lambda: found() is not None,
            timeout=timeout,
            description=f"callback of interaction {interaction_id}",
        )
        result = found()
        assert result is not None
        return result

    async def wait_for_webhook_messages(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        interaction_id: int | None = None,
        action: str | None = None,
    ) -> list[RecordedWebhookMessage]:
        """Wait until ``count`` webhook operations (optionally filtered) were recorded."""

        def matching() -> list[RecordedWebhookMessage]:
            return [
                w
                for w in self.webhook_messages
                if (interaction_id is None or w.interaction_id == interaction_id)
                and (action is None or w.action == action)
            ]

        await self.wait_for(
            lambda: len(matching()) >= count,
            timeout=timeout,
            description=f"{count} webhook message(s)",
        )
        return matching()

    async def wait_for_reactions(
        self, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedReaction]:
        """Wait until ``count`` reactions were added."""
        await self.wait_for(
            lambda: len(self.reactions) >= count,
            timeout=timeout,
            description=f"{count} reaction(s)",
        )
        return list(self.reactions)

    async def wait_for_synced_commands(
        self, guild_id: int | None = None, timeout: float = 5.0
    ) -> list[JSON]:
        """Wait for a command sync in a scope (``None`` = global); returns the stored list."""
        await self.wait_for(
            lambda: guild_id in self.synced_commands,
            timeout=timeout,
            description=f"command sync for scope {guild_id or 'global'}",
        )
        return self.synced_commands[guild_id]

    async def wait_for_request(
        self, method: str, path: str | re.Pattern[str], timeout: float = 5.0
    ) -> RecordedRequest:
        """Wait for a REST call (``path`` prefix or regex, like :meth:`rate_limit_next`)."""
        probe = _Injection(method, path, 0, None, {}, 0)

        def found() -> RecordedRequest | None:
            return next(
                (r for r in self.requests if r.status and probe.matches(r.method, r.path)), None
            )

        await self.wait_for(
            lambda: found() is not None, timeout=timeout, description=f"{method} {path}"
        )
        result = found()
        assert result is not None
        return result

    async def wait_identified(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Wait until ``count`` IDENTIFYs were received."""
        await self.wait_for(
            lambda: self.identify_count >= count, timeout=timeout, description=f"{count} IDENTIFY"
        )

    async def wait_ready(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Wait until READY and the GUILD_CREATEs were sent ``count`` times."""
        await self.wait_for(
            lambda: self.ready_count >= count, timeout=timeout, description=f"{count} READY"
        )

    async def wait_resumed(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Wait until ``count`` RESUMEs succeeded (RESUMED sent)."""
        await self.wait_for(
            lambda: self.resume_count >= count, timeout=timeout, description=f"{count} RESUME"
        )

    async def wait_disconnected(self, timeout: float = 5.0) -> None:
        """Wait until no gateway connection is open."""
        await self.wait_for(
            lambda: not self.gateway.open_connections(),
            timeout=timeout,
            description="all sockets closed",
        )

    def describe(self) -> str:
        """Human summary of what was recorded (used in waiter failures)."""
        synced = {k: [c["name"] for c in v] for k, v in self.synced_commands.items()}
        lines = [
            f"gateway: identify={self.identify_count} ready={self.ready_count} "
            f"resume={self.resume_count} connections="
            + ", ".join(
                f"#{c.number} {c.path} closed={c.closed} code={c.close_code}"
                for c in self.gateway_connections
            ),
            f"messages ({len(self.messages)}):",
            *(
                f"  [{m.channel_id}] {m.content!r} embeds={len(m.embeds)}"
                for m in self.messages[-10:]
            ),
            f"interaction callbacks ({len(self.interaction_callbacks)}):",
            *(
                f"  {c.interaction_id} type={c.type} data={c.data!r}"
                for c in self.interaction_callbacks[-10:]
            ),
            f"webhook messages ({len(self.webhook_messages)}):",
            *(
                f"  {w.action} {w.interaction_id} {w.payload!r}"
                for w in self.webhook_messages[-10:]
            ),
            f"reactions: {[r.emoji for r in self.reactions]}",
            f"synced commands: {synced}",
            f"last requests ({len(self.requests)}):",
            *(f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-15:]),
        ]
        return "\n".join(lines)

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()

    # ------------------------------------------------------------------
    # GatewayHooks implementation
    # ------------------------------------------------------------------

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
        guilds = [g for g in self.guilds.values() if session.handles_guild(g.id)]
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
            for g in self.guilds.values()
            if session.handles_guild(g.id)
        ]

    def gateway_member_chunks(self, session: GatewaySession, request: JSON) -> list[JSON]:
        """GUILD_MEMBERS_CHUNK answering op 8 (all members, or ``user_ids``/``query``)."""
        guild = self.guilds.get(int(request.get("guild_id") or 0))
        if guild is None:
            return []
        wanted = request.get("user_ids")
        query = str(request.get("query") or "").lower()
        members: list[JSON] = []
        not_found: list[str] = []
        if wanted is not None:
            ids = [int(u) for u in (wanted if isinstance(wanted, list) else [wanted])]
            for uid in ids:
                if uid in guild.members and uid in self.users:
                    members.append(guild.members[uid].payload(self.users[uid]))
                else:
                    not_found.append(str(uid))
        else:
            for uid, member in guild.members.items():
                user = self.users.get(uid)
                if user is not None and user.username.lower().startswith(query):
                    members.append(member.payload(user))
            limit = int(request.get("limit") or 0)
            if limit:
                members = members[:limit]
        chunk: JSON = {
            "guild_id": str(guild.id),
            "members": members,
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": not_found,
        }
        if request.get("nonce") is not None:
            chunk["nonce"] = request["nonce"]
        if request.get("presences"):
            chunk["presences"] = []
        return [chunk]

    async def gateway_changed(self) -> None:
        """Wake waiters on gateway activity."""
        await self._notify()

    # ------------------------------------------------------------------
    # payload builders
    # ------------------------------------------------------------------

    def _me_payload(self) -> JSON:
        data = self.bot_user.payload()
        data.update(verified=True, mfa_enabled=False, flags=0, email=None, locale="en-US")
        return data

    def _application_flags(self) -> int:
        flags = APP_FLAG_APPLICATION_COMMAND_BADGE
        if self.allow_message_content:
            flags |= APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED
        if self.allow_members:
            flags |= APP_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED
        if self.allow_presences:
            flags |= APP_FLAG_GATEWAY_PRESENCE_LIMITED
        return flags

    def _application_payload(self) -> JSON:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "Fake application served by tests.fakes.discord.api",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.owner_user.payload(),
            "team": None,
            "flags": self._application_flags(),
            "bot": self.bot_user.payload(),
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "redirect_uris": [],
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

    def _guild_payload(self, guild: FakeGuild) -> JSON:
        system_channel = guild.text_channels()[0].id if guild.text_channels() else None
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(system_channel) if system_channel else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "incidents_data": None,
        }

    def _guild_create_payload(self, guild: FakeGuild, intents: int) -> JSON:
        data = self._guild_payload(guild)
        # Without GUILD_MEMBERS Discord only sends the bot's own member.
        member_ids = list(guild.members) if intents & INTENT_GUILD_MEMBERS else [self.bot_id]
        data.update(
            joined_at=guild.joined_at,
            large=False,
            unavailable=False,
            lazy=True,
            member_count=len(guild.members),
            members=[
                guild.members[uid].payload(self.users[uid])
                for uid in member_ids
                if uid in guild.members and uid in self.users
            ],
            channels=[
                c.payload(self.users, include_guild_id=False) for c in guild.channels.values()
            ],
            threads=[],
            presences=[],
            voice_states=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return data

    def _ensure_user(
        self, user_id: int | None, *, bot: bool = False, username: str | None = None
    ) -> FakeUser:
        if user_id is None:
            if not bot:
                return self.users[self.default_user_id]
            existing = next((u for u in self.users.values() if u.bot and u.id != self.bot_id), None)
            return existing or self.add_user(username or "other-bot", bot=True)
        if user_id not in self.users:
            return self.add_user(username or f"user{len(self.users)}", bot=bot, user_id=user_id)
        return self.users[user_id]

    def _mentions(
        self, channel: FakeChannel, content: str, allowed: JSON | None, reference: JSON | None
    ) -> tuple[list[int], list[int], bool]:
        users = [int(u) for u in _USER_MENTION_RE.findall(content) if int(u) in self.users]
        roles = [int(r) for r in _ROLE_MENTION_RE.findall(content)]
        if channel.guild_id is not None:
            known = self.guilds[channel.guild_id].roles
            roles = [r for r in roles if r in known]
        everyone = "@everyone" in content or "@here" in content
        if allowed is not None:
            parse = allowed.get("parse") or []
            user_list = {str(u) for u in allowed.get("users") or []}
            role_list = {str(r) for r in allowed.get("roles") or []}
            users = [u for u in users if "users" in parse or str(u) in user_list]
            roles = [r for r in roles if "roles" in parse or str(r) in role_list]
            everyone = everyone and "everyone" in parse
            if allowed.get("replied_user") and reference is not None:
                ref_msg = self._message_store.get(int(reference.get("message_id") or 0))
                if ref_msg is not None:
                    users.append(int(ref_msg["author"]["id"]))
        return list(dict.fromkeys(users)), list(dict.fromkeys(roles)), everyone

    def _reference_payload(self, channel: FakeChannel, message_id: int) -> JSON:
        ref: JSON = {"type": 0, "message_id": str(message_id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            ref["guild_id"] = str(channel.guild_id)
        return ref

    def _build_message(
        self,
        channel: FakeChannel,
        author: JSON,
        *,
        content: str,
        embeds: list[JSON],
        attachments: list[JSON],
        allowed_mentions: JSON | None,
        reference: JSON | None,
        webhook_id: int | None = None,
        components: list[JSON] | None = None,
        flags: int = 0,
        nonce: str | int | None = None,
        tts: bool = False,
        message_type: int | None = None,
        extra: JSON | None = None,
    ) -> JSON:
        mention_ids, role_ids, everyone = self._mentions(
            channel, content, allowed_mentions, reference
        )
        msg_type = (
            message_type
            if message_type is not None
            else (MESSAGE_REPLY if reference else MESSAGE_DEFAULT)
        )
        msg: JSON = {
            "id": str(self.snowflake()),
            "type": msg_type,
            "channel_id": str(channel.id),
            "author": author,
            "content": content,
            "timestamp": _now_iso(),
            "edited_timestamp": None,
            "tts": tts,
            "mention_everyone": everyone,
            "mentions": [self.users[u].payload() for u in mention_ids],
            "mention_roles": [str(r) for r in role_ids],
            "attachments": attachments,
            "embeds": [{"type": "rich", **e} for e in embeds],
            "pinned": False,
            "flags": flags,
            "components": components or [],
        }
        if webhook_id is not None:
            msg["webhook_id"] = str(webhook_id)
        if nonce is not None:
            msg["nonce"] = nonce
        if reference is not None:
            msg["message_reference"] = reference
            ref_msg = self._message_store.get(int(reference.get("message_id") or 0))
            msg["referenced_message"] = copy.deepcopy(ref_msg) if ref_msg is not None else None
        if extra:
            msg.update(extra)
        return msg

    def _store_message(self, msg: JSON) -> None:
        mid = int(msg["id"])
        self._message_store[mid] = msg
        channel = self.channels.get(int(msg["channel_id"]))
        if channel is not None:
            channel.last_message_id = mid

    def _gateway_message(self, msg: JSON, channel: FakeChannel, *, webhook: bool) -> JSON:
        data = copy.deepcopy(msg)
        if channel.guild_id is None:
            return data
        guild = self.guilds[channel.guild_id]
        data["guild_id"] = str(guild.id)
        author_id = int(data["author"]["id"])
        if not webhook and author_id in guild.members:
            data["member"] = guild.members[author_id].payload()
        for mention in data["mentions"]:
            member = guild.members.get(int(mention["id"]))
            if member is not None:
                mention["member"] = member.payload()
        ref = data.get("referenced_message")
        if isinstance(ref, dict):
            ref["guild_id"] = str(guild.id)
        return data

    async def _dispatch_message(
        self,
        msg: JSON,
        channel: FakeChannel,
        author_id: int,
        *,
        webhook: bool = False,
        event: str = "MESSAGE_CREATE",
    ) -> None:
        payload = self._gateway_message(msg, channel, webhook=webhook)
        required = INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES
        bot_mentioned = any(int(m["id"]) == self.bot_id for m in payload["mentions"])
        keeps_content = channel.is_dm or author_id == self.bot_id or bot_mentioned

        def per_session(session: GatewaySession, data: JSON) -> JSON | None:
            if not session.intents & required:
                return None
            if session.intents & INTENT_MESSAGE_CONTENT or keeps_content:
                return data
            stripped = copy.deepcopy(data)
            stripped.update(content="", embeds=[], attachments=[], components=[])
            stripped.pop("poll", None)
            return stripped

        await self.gateway.dispatch(
            event, payload, guild_id=channel.guild_id, transform=per_session
        )

    # -- interactions --------------------------------------------------

    def _interaction_channel(self, channel_id: int | None, guild_id: int | None) -> FakeChannel:
        if channel_id is not None:
            return self._channel(channel_id)
        guild = self._guild(guild_id)
        channels = guild.text_channels()
        if not channels:
            raise LookupError(f"guild {guild.id} has no text channel")
        return channels[0]

    def _find_command(
        self, name: str, guild_id: int | None, ctype: int
    ) -> tuple[JSON | None, int | None]:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self.synced_commands.get(scope, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                    return cmd, scope
        return None, None

    def _command_id(self, name: str, scope: int | None, ctype: int, command: JSON | None) -> int:
        if command is not None:
            return int(command["id"])
        return self._command_ids.setdefault((scope, name, ctype), self.snowflake())

    def _build_options(
        self, options: list[JSON] | Mapping[str, Any], command: JSON | None
    ) -> list[JSON]:
        if not isinstance(options, Mapping):
            return copy.deepcopy(list(options))
        declared = {o["name"]: o for o in (command or {}).get("options", [])}
        built: list[JSON] = []
        for key, value in options.items():
            opt_type = int(declared[key]["type"]) if key in declared else _option_type_for(value)
            built.append({"name": key, "type": opt_type, "value": value})
        return built

    def _flat_options(self, options: list[JSON]) -> Iterator[JSON]:
        for opt in options:
            yield opt
            yield from self._flat_options(opt.get("options") or [])

    def _component_message(self, custom_id: str, message: JSON | int | None) -> JSON:
        if isinstance(message, dict):
            return copy.deepcopy(message)
        if isinstance(message, int):
            found = self._message_store.get(message)
            if found is None:
                raise LookupError(f"no stored message {message}")
            return copy.deepcopy(found)
        for msg in sorted(self._message_store.values(), key=lambda m: int(m["id"]), reverse=True):
            if any(
                c.get("custom_id") == custom_id for c in _walk_components(msg.get("components"))
            ):
                return copy.deepcopy(msg)
        raise LookupError(f"no stored message has a component with custom_id={custom_id!r}")

    async def _send_interaction(
        self,
        itype: int,
        data: JSON,
        *,
        channel: FakeChannel,
        user_id: int | None,
        member_permissions: int | str | None,
        app_permissions: int | str | None,
        locale: str,
        message: JSON | None = None,
        command_name: str | None = None,
        command_type: int | None = None,
    ) -> int:
        user = self._ensure_user(user_id)
        iid = self.snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "channel_id": str(channel.id),
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        channel_payload = channel.payload(self.users)
        if channel.guild_id is not None:
            guild = self.guilds[channel.guild_id]
            if user.id not in guild.members:
                self.add_member(guild.id, user.id)
            perms = (
                int(member_permissions)
                if member_permissions is not None
                else self.permissions_for(guild.id, user.id, channel.id)
            )
            app_perms = (
                int(app_permissions)
                if app_permissions is not None
                else self.permissions_for(guild.id, self.bot_id, channel.id)
            )
            channel_payload["permissions"] = str(perms)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=guild.members[user.id].payload(user, permissions=perms),
                app_permissions=str(app_perms),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(
                user=user.payload(),
                app_permissions=str(
                    int(app_permissions) if app_permissions is not None else DEFAULT_BOT_PERMISSIONS
                ),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        payload["channel"] = channel_payload
        if message is not None:
            payload["message"] = self._gateway_message(message, channel, webhook=True)
        self._interactions[iid] = _Interaction(
            id=iid,
            token=token,
            type=itype,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            user_id=user.id,
            data=data,
            created=time.monotonic(),
            command_name=command_name,
            command_type=command_type,
            component_message_id=int(message["id"]) if message is not None else None,
        )
        await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=channel.guild_id)
        return iid

    def _interaction_message(
        self, itx: _Interaction, body: JSON, files: list[RecordedFile], *, original: bool
    ) -> JSON:
        channel = self._channel(itx.channel_id)
        flags = int(body.get("flags") or 0)
        metadata: JSON = {
            "id": str(itx.id),
            "type": itx.type,
            "user": self.users[itx.user_id].payload(),
            "authorizing_integration_owners": (
                {"0": str(itx.guild_id)} if itx.guild_id is not None else {"0": "0"}
            ),
        }
        if itx.type == INTERACTION_APPLICATION_COMMAND and itx.command_name is not None:
            metadata.update(name=itx.command_name, command_type=itx.command_type or 1)
        if itx.component_message_id is not None and itx.type == INTERACTION_MESSAGE_COMPONENT:
            metadata["interacted_message_id"] = str(itx.component_message_id)
        if not original and itx.original_message_id is not None:
            metadata["original_response_message_id"] = str(itx.original_message_id)
        if original and itx.type == INTERACTION_APPLICATION_COMMAND:
            msg_type = (
                MESSAGE_CONTEXT_MENU_COMMAND
                if (itx.command_type or 1) != 1
                else MESSAGE_CHAT_INPUT_COMMAND
            )
        else:
            msg_type = MESSAGE_DEFAULT
        return self._build_message(
            channel,
            self.bot_user.payload(),
            content=str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            attachments=self._attachments(body, files),
            allowed_mentions=body.get("allowed_mentions"),
            reference=None,
            webhook_id=self.application_id,
            components=list(body.get("components") or []),
            flags=flags,
            tts=bool(body.get("tts")),
            message_type=msg_type,
            extra={"application_id": str(self.application_id), "interaction_metadata": metadata},
        )

    def _attachments(self, body: JSON, files: list[RecordedFile]) -> list[JSON]:
        described = {
            str(a.get("id")): a for a in body.get("attachments") or [] if isinstance(a, dict)
        }
        out: list[JSON] = []
        for index, f in enumerate(files):
            meta = described.get(str(index), {})
            att_id = self.snowflake()
            name = meta.get("filename") or f.filename or f"file{index}"
            out.append(
                {
                    "id": str(att_id),
                    "filename": name,
                    "size": len(f.data),
                    "url": f"{self.base_url}/attachments/{att_id}/{name}",
                    "proxy_url": f"{self.base_url}/attachments/{att_id}/{name}",
                    "content_type": f.content_type,
                    "description": meta.get("description"),
                }
            )
        return out

    def _apply_edit(self, msg: JSON, body: JSON, files: list[RecordedFile]) -> None:
        for key in ("content", "embeds", "components", "allowed_mentions"):
            if key in body:
                value = body[key]
                if key == "embeds":
                    value = [{"type": "rich", **e} for e in value or []]
                elif key == "content":
                    value = value or ""
                elif key == "components":
                    value = value or []
                if key != "allowed_mentions":
                    msg[key] = value
        if "flags" in body and body["flags"] is not None:
            keep = int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL
            msg["flags"] = (int(body["flags"]) & ~MESSAGE_FLAG_LOADING) | keep
        else:
            msg["flags"] = int(msg.get("flags") or 0) & ~MESSAGE_FLAG_LOADING
        if "attachments" in body or files:
            kept_ids = {
                str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)
            }
            kept = [a for a in msg.get("attachments", []) if a["id"] in kept_ids]
            msg["attachments"] = kept + self._attachments(body, files)
        if "content" in body:
            channel = self._channel(int(msg["channel_id"]))
            ids, roles, everyone = self._mentions(
                channel, msg["content"], body.get("allowed_mentions"), None
            )
            msg["mentions"] = [self.users[u].payload() for u in ids]
            msg["mention_roles"] = [str(r) for r in roles]
            msg["mention_everyone"] = everyone
        msg["edited_timestamp"] = _now_iso()

    async def _echo(self, msg: JSON, *, event: str = "MESSAGE_CREATE") -> None:
        """Dispatch the bot's own (non-ephemeral) message back, like Discord."""
        if int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL:
            return
        channel = self.channels.get(int(msg["channel_id"]))
        if channel is None:
            return
        await self._dispatch_message(
            msg, channel, int(msg["author"]["id"]), webhook=False, event=event
        )

    # ------------------------------------------------------------------
    # REST plumbing
    # ------------------------------------------------------------------

    def _register_routes(self) -> None:
        app = _ID
        routes: list[tuple[str, str, Handler, bool]] = [
            ("GET", r"/users/@me", self._get_me, True),
            ("GET", rf"/users/{_ID}", self._get_user, True),
            ("POST", r"/users/@me/channels", self._create_dm, True),
            ("GET", r"/oauth2/applications/@me", self._get_application, True),
            ("GET", r"/applications/@me", self._get_application, True),
            ("GET", r"/gateway", self._get_gateway, False),
            ("GET", r"/gateway/bot", self._get_gateway_bot, True),
            ("GET", rf"/applications/{app}/commands", self._get_commands, True),
            ("PUT", rf"/applications/{app}/commands", self._put_commands, True),
            ("GET", rf"/applications/{app}/guilds/{_ID}/commands", self._get_commands, True),
            ("PUT", rf"/applications/{app}/guilds/{_ID}/commands", self._put_commands, True),
            ("POST", rf"/interactions/{_ID}/{_TOKEN}/callback", self._interaction_callback, False),
            ("POST", rf"/webhooks/{_ID}/{_TOKEN}", self._webhook_execute, False),
            (
                "GET",
                rf"/webhooks/{_ID}/{_TOKEN}/messages/(@original|\d+)",
                self._webhook_get,
                False,
            ),
            (
                "PATCH",
                rf"/webhooks/{_ID}/{_TOKEN}/messages/(@original|\d+)",
                self._webhook_edit,
                False,
            ),
            (
                "DELETE",
                rf"/webhooks/{_ID}/{_TOKEN}/messages/(@original|\d+)",
                self._webhook_delete,
                False,
            ),
            ("GET", rf"/channels/{_ID}", self._get_channel, True),
            ("GET", rf"/channels/{_ID}/messages", self._get_messages, True),
            ("POST", rf"/channels/{_ID}/messages", self._post_message, True),
            ("GET", rf"/channels/{_ID}/messages/{_ID}", self._get_message, True),
            ("PATCH", rf"/channels/{_ID}/messages/{_ID}", self._edit_message, True),
            ("DELETE", rf"/channels/{_ID}/messages/{_ID}", self._delete_message, True),
            (
                "PUT",
                rf"/channels/{_ID}/messages/{_ID}/reactions/{_TOKEN}/@me",
                self._add_reaction,
                True,
            ),
            (
                "DELETE",
                rf"/channels/{_ID}/messages/{_ID}/reactions/{_TOKEN}/@me",
                self._remove_reaction,
                True,
            ),
            ("POST", rf"/channels/{_ID}/typing", self._typing, True),
            ("GET", rf"/guilds/{_ID}", self._get_guild, True),
            ("GET", rf"/guilds/{_ID}/channels", self._get_guild_channels, True),
            ("GET", rf"/guilds/{_ID}/roles", self._get_guild_roles, True),
            ("GET", rf"/guilds/{_ID}/members/{_ID}", self._get_member, True),
        ]
        self._routes = [(m, re.compile(p), h, auth) for m, p, h, auth in routes]

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :] or "/"
        rec = RecordedRequest(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=None,
            headers=dict(request.headers),
        )
        self.requests.append(rec)
        try:
            rec.json, rec.files = await self._read_body(request)
            reply = await self._route(request, rec)
        except _ApiError as err:
            reply = err.reply
        rec.status = reply.status
        rec.response = reply.body
        await self._notify()
        return reply.to_response()

    async def _read_body(self, request: web.Request) -> tuple[Any, list[RecordedFile]]:
        if not request.can_read_body:
            return None, []
        if request.content_type.startswith("multipart/"):
            payload: Any = None
            files: list[RecordedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue
                data = await part.read(decode=False)
                name = part.name or ""
                if name == "payload_json":
                    payload = self._parse_json(bytes(data).decode())
                else:
                    files.append(
                        RecordedFile(
                            field_name=name,
                            filename=part.filename,
                            content_type=part.headers.get("Content-Type"),
                            data=bytes(data),
                        )
                    )
            return payload, files
        text = await request.text()
        if not text:
            return None, []
        if request.content_type == "application/json":
            return self._parse_json(text), []
        return text, []

    @staticmethod
    def _parse_json(text: str) -> Any:
        try:
            return json.loads(text)
        except ValueError:
            raise _ApiError(400, "The request body contains invalid JSON.", 50109) from None

    async def _route(self, request: web.Request, rec: RecordedRequest) -> _Reply:
        for injection in self._injections:
            if injection.remaining > 0 and injection.matches(rec.method, rec.path):
                injection.remaining -= 1
                if injection.remaining == 0:
                    self._injections.remove(injection)
                return _Reply(
                    injection.status, copy.deepcopy(injection.body), dict(injection.headers)
                )
        method_mismatch = False
        for method, pattern, handler, needs_auth in self._routes:
            match = pattern.fullmatch(rec.path)
            if match is None:
                continue
            if method != rec.method:
                method_mismatch = True
                continue
            if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
                return _Reply(401, {"message": "401: Unauthorized", "code": 0})
            return await handler(rec, match)
        if method_mismatch:
            return _Reply(405, {"message": "405: Method Not Allowed", "code": 0})
        return _Reply(404, {"message": "404: Not Found", "code": 0})

    def _guild(self, guild_id: int | None) -> FakeGuild:
        gid = guild_id or self.default_guild_id
        if gid not in self.guilds:
            raise LookupError(f"unknown guild {gid}")
        return self.guilds[gid]

    def _channel(self, channel_id: int) -> FakeChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _unknown_channel()
        return channel

    def _check_app(self, raw: str) -> None:
        if int(raw) != self.application_id:
            raise _ApiError(403, "Missing Access", 50001)

    def _check_post_allowed(self, channel: FakeChannel, needed: int) -> None:
        if channel.id in self._denied_channels:
            raise _ApiError(403, "Missing Permissions", 50013)
        if channel.guild_id is not None:
            perms = self.permissions_for(channel.guild_id, self.bot_id, channel.id)
            if not perms & VIEW_CHANNEL:
                raise _ApiError(403, "Missing Access", 50001)
            if perms & needed != needed:
                raise _ApiError(403, "Missing Permissions", 50013)

    # -- users / application / gateway --------------------------------

    async def _get_me(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, self._me_payload())

    async def _get_user(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        user = self.users.get(int(m[1]))
        if user is None:
            raise _ApiError(404, "Unknown User", 10013)
        return _Reply(200, user.payload())

    async def _create_dm(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        body = rec.json or {}
        uid = int(body.get("recipient_id") or 0)
        if uid not in self.users:
            raise _ApiError(404, "Unknown User", 10013)
        return _Reply(200, self.add_dm_channel(uid).payload(self.users))

    async def _get_application(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, self._application_payload())

    async def _get_gateway(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, {"url": self.gateway_url})

    async def _get_gateway_bot(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(
            200,
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000 - self.identify_count,
                    "reset_after": 86_400_000,
                    "max_concurrency": 1,
                },
            },
        )

    # -- application commands -----------------------------------------

    def _scope(self, m: re.Match[str]) -> int | None:
        self._check_app(m[1])
        if m.lastindex and m.lastindex >= 2:
            gid = int(m[2])
            if gid not in self.guilds:
                raise _ApiError(403, "Missing Access", 50001)
            return gid
        return None

    async def _get_commands(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, copy.deepcopy(self.synced_commands.get(self._scope(m), [])))

    async def _put_commands(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        scope = self._scope(m)
        body = rec.json
        if not isinstance(body, list):
            raise _form_error([], "LIST_TYPE_CONVERT", "Must be an array.")
        if len(body) > 100:
            raise _form_error([], "BASE_TYPE_MAX_LENGTH", "Must be 100 or fewer in length.")
        seen: set[tuple[str, int]] = set()
        stored: list[JSON] = []
        for index, raw in enumerate(body):
            cmd = self._validate_command(raw, index)
            key = (cmd["name"], int(cmd.get("type", 1)))
            if key in seen:
                raise _form_error(
                    [str(index), "name"],
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                )
            seen.add(key)
            ctype = int(cmd.get("type", 1))
            cid = self._command_ids.setdefault((scope, cmd["name"], ctype), self.snowflake())
            stored_cmd: JSON = {
                "id": str(cid),
                "application_id": str(self.application_id),
                "version": str(self.snowflake()),
                "type": ctype,
                "default_member_permissions": None,
                "nsfw": False,
                "contexts": None,
                "integration_types": [0],
                **copy.deepcopy(cmd),
            }
            stored_cmd.setdefault("description", "")
            if scope is not None:
                stored_cmd["guild_id"] = str(scope)
            stored.append(stored_cmd)
        self.command_sync_payloads.append((scope, copy.deepcopy(body)))
        self.synced_commands[scope] = stored
        return _Reply(200, copy.deepcopy(stored))

    @staticmethod
    def _validate_command(raw: Any, index: int) -> JSON:
        if not isinstance(raw, dict) or "name" not in raw:
            raise _form_error([str(index), "name"], "BASE_TYPE_REQUIRED", "This field is required")
        ctype = int(raw.get("type", 1))
        name = str(raw["name"])
        if ctype == 1:
            if not _COMMAND_NAME_RE.match(name) or name != name.lower():
                raise _form_error(
                    [str(index), "name"],
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                )
            description = str(raw.get("description") or "")
            if not 1 <= len(description) <= 100:
                raise _form_error(
                    [str(index), "description"],
                    "BASE_TYPE_BAD_LENGTH",
                    "Must be between 1 and 100 in length.",
                )
        elif not 1 <= len(name) <= 32:
            raise _form_error(
                [str(index), "name"], "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."
            )
        if len(raw.get("options") or []) > 25:
            raise _form_error(
                [str(index), "options"], "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length."
            )
        return raw

    # -- interactions ----------------------------------------------------

    async def _interaction_callback(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        itx = self._interactions.get(int(m[1]))
        if itx is None or (
            self.interaction_deadline is not None
            and time.monotonic() - itx.created > self.interaction_deadline
        ):
            raise _ApiError(404, "Unknown interaction", 10062)
        if m[2] != itx.token:
            raise _ApiError(401, "Invalid Webhook Token", 50027)
        if itx.response_type is not None:
            raise _ApiError(400, "Interaction has already been acknowledged.", 40060)
        body = rec.json if isinstance(rec.json, dict) else {}
        ctype = body.get("type")
        if not isinstance(ctype, int):
            raise _form_error(["type"], "BASE_TYPE_REQUIRED", "This field is required")
        if ctype not in _ALLOWED_CALLBACKS.get(itx.type, frozenset()):
            raise _form_error(
                ["type"], "INTERACTION_CALLBACK_TYPE_INVALID", "Invalid interaction callback type"
            )
        data = body.get("data")
        data = data if isinstance(data, dict) else None

        message_id: int | None = None
        resource: JSON = {"type": ctype}
        loading = False
        ephemeral = bool(data and int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
        echo: tuple[JSON, str] | None = None
        if ctype == CALLBACK_CHANNEL_MESSAGE:
            _validate_message_body(data or {}, has_files=bool(rec.files), require_content=True)
            msg = self._interaction_message(itx, data or {}, rec.files, original=True)
            self._store_message(msg)
            message_id = int(msg["id"])
            itx.original_message_id = message_id
            resource["message"] = copy.deepcopy(msg)
            echo = (msg, "MESSAGE_CREATE")
        elif ctype == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            flags = MESSAGE_FLAG_LOADING | (MESSAGE_FLAG_EPHEMERAL if ephemeral else 0)
            msg = self._interaction_message(itx, {"flags": flags}, [], original=True)
            self._store_message(msg)
            message_id = int(msg["id"])
            itx.original_message_id = message_id
            loading = True
            echo = (msg, "MESSAGE_CREATE")
        elif ctype in (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE):
            target_id = itx.component_message_id
            target = self._message_store.get(target_id) if target_id is not None else None
            if target is None:
                raise _unknown_message()
            message_id = target_id
            itx.original_message_id = target_id
            if ctype == CALLBACK_UPDATE_MESSAGE:
                _validate_message_body(data or {}, has_files=bool(rec.files), require_content=False)
                self._apply_edit(target, data or {}, rec.files)
                resource["message"] = copy.deepcopy(target)
                echo = (target, "MESSAGE_UPDATE")
        elif ctype == CALLBACK_MODAL and (
            not data or not data.get("custom_id") or not data.get("title")
        ):
            raise _form_error(["data"], "BASE_TYPE_REQUIRED", "This field is required")
        itx.response_type = ctype
        self.interaction_callbacks.append(
            RecordedCallback(
                interaction_id=itx.id,
                interaction_type=itx.type,
                type=ctype,
                data=copy.deepcopy(data),
                token=itx.token,
                message_id=message_id,
                payload=copy.deepcopy(body),
                files=list(rec.files),
            )
        )
        if echo is not None:
            await self._echo(echo[0], event=echo[1])
        interaction: JSON = {"id": str(itx.id), "type": itx.type}
        if message_id is not None:
            interaction.update(
                response_message_id=str(message_id),
                response_message_loading=loading,
                response_message_ephemeral=ephemeral,
            )
        if rec.query.get("with_response") in ("1", "true", "True"):
            return _Reply(200, {"interaction": interaction, "resource": resource})
        return _Reply(204)

    def _webhook_interaction(self, m: re.Match[str]) -> _Interaction:
        if int(m[1]) != self.application_id:
            raise _unknown_webhook()
        itx = next((i for i in self._interactions.values() if i.token == m[2]), None)
        if itx is None or itx.response_type is None:
            raise _unknown_webhook()
        return itx

    def _webhook_target(self, itx: _Interaction, raw_id: str) -> tuple[JSON, bool]:
        if raw_id == "@original":
            mid = itx.original_message_id
            original = True
        else:
            mid = int(raw_id)
            original = mid == itx.original_message_id
            if not original and mid not in itx.followup_ids:
                raise _unknown_message()
        msg = self._message_store.get(mid) if mid is not None else None
        if msg is None:
            raise _unknown_message()
        return msg, original

    async def _webhook_execute(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        itx = self._webhook_interaction(m)
        body = rec.json if isinstance(rec.json, dict) else {}
        _validate_message_body(body, has_files=bool(rec.files), require_content=True)
        msg = self._interaction_message(itx, body, rec.files, original=False)
        self._store_message(msg)
        mid = int(msg["id"])
        itx.followup_ids.append(mid)
        self.webhook_messages.append(
            RecordedWebhookMessage(
                action="create",
                application_id=self.application_id,
                token=itx.token,
                interaction_id=itx.id,
                message_id=mid,
                original=False,
                payload=copy.deepcopy(body),
                files=list(rec.files),
            )
        )
        await self._echo(msg)
        if rec.query.get("wait") in ("1", "true", "True"):
            return _Reply(200, copy.deepcopy(msg))
        return _Reply(204)

    async def _webhook_get(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        itx = self._webhook_interaction(m)
        msg, _ = self._webhook_target(itx, m[3])
        return _Reply(200, copy.deepcopy(msg))

    async def _webhook_edit(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        itx = self._webhook_interaction(m)
        msg, original = self._webhook_target(itx, m[3])
        body = rec.json if isinstance(rec.json, dict) else {}
        _validate_message_body(body, has_files=bool(rec.files), require_content=False)
        self._apply_edit(msg, body, rec.files)
        self.webhook_messages.append(
            RecordedWebhookMessage(
                action="edit",
                application_id=self.application_id,
                token=itx.token,
                interaction_id=itx.id,
                message_id=int(msg["id"]),
                original=original,
                payload=copy.deepcopy(body),
                files=list(rec.files),
            )
        )
        await self._echo(msg, event="MESSAGE_UPDATE")
        return _Reply(200, copy.deepcopy(msg))

    async def _webhook_delete(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        itx = self._webhook_interaction(m)
        msg, original = self._webhook_target(itx, m[3])
        mid = int(msg["id"])
        self._message_store.pop(mid, None)
        self.webhook_messages.append(
            RecordedWebhookMessage(
                action="delete",
                application_id=self.application_id,
                token=itx.token,
                interaction_id=itx.id,
                message_id=mid,
                original=original,
                payload={},
            )
        )
        await self._dispatch_delete(msg)
        return _Reply(204)

    # -- channels and messages -----------------------------------------

    async def _get_channel(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, self._channel(int(m[1])).payload(self.users))

    async def _get_messages(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        channel = self._channel(int(m[1]))
        limit = min(int(rec.query.get("limit") or 50), 100)
        found = [
            msg for msg in self._message_store.values() if int(msg["channel_id"]) == channel.id
        ]
        found.sort(key=lambda msg: int(msg["id"]), reverse=True)
        if "before" in rec.query:
            found = [msg for msg in found if int(msg["id"]) < int(rec.query["before"])]
        if "after" in rec.query:
            found = [msg for msg in found if int(msg["id"]) > int(rec.query["after"])]
        return _Reply(200, copy.deepcopy(found[:limit]))

    async def _post_message(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        channel = self._channel(int(m[1]))
        body = rec.json if isinstance(rec.json, dict) else {}
        needed = SEND_MESSAGES | (ATTACH_FILES if rec.files else 0)
        self._check_post_allowed(channel, needed)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get(str(nonce))
            if seen is not None and time.monotonic() - seen[1] < NONCE_WINDOW_SECONDS:
                earlier = self._message_store.get(seen[0])
                if earlier is not None:
                    return _Reply(200, copy.deepcopy(earlier))
        _validate_message_body(body, has_files=bool(rec.files), require_content=True)
        reference = body.get("message_reference")
        ref_payload: JSON | None = None
        if isinstance(reference, dict) and reference.get("message_id"):
            ref_id = int(reference["message_id"])
            if ref_id not in self._message_store and reference.get("fail_if_not_exists", True):
                raise _form_error(
                    ["message_reference"], "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message"
                )
            ref_payload = self._reference_payload(channel, ref_id)
            ref_payload["type"] = int(reference.get("type") or 0)
            if "fail_if_not_exists" in reference:
                ref_payload["fail_if_not_exists"] = reference["fail_if_not_exists"]
        msg = self._build_message(
            channel,
            self.bot_user.payload(),
            content=str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            attachments=self._attachments(body, rec.files),
            allowed_mentions=body.get("allowed_mentions"),
            reference=ref_payload,
            components=list(body.get("components") or []),
            flags=int(body.get("flags") or 0),
            nonce=nonce,
            tts=bool(body.get("tts")),
        )
        self._store_message(msg)
        mid = int(msg["id"])
        if nonce is not None and body.get("enforce_nonce"):
            self._nonces[str(nonce)] = (mid, time.monotonic())
        recorded = RecordedMessage(
            id=mid,
            channel_id=channel.id,
            content=body.get("content"),
            embeds=list(body.get("embeds") or []),
            allowed_mentions=body.get("allowed_mentions"),
            message_reference=reference if isinstance(reference, dict) else None,
            nonce=nonce,
            components=list(body.get("components") or []),
            flags=int(body.get("flags") or 0),
            tts=bool(body.get("tts")),
            payload=copy.deepcopy(body),
            files=list(rec.files),
        )
        self.messages.append(recorded)
        self._recorded_by_id[mid] = recorded
        await self._echo(msg)
        return _Reply(200, copy.deepcopy(msg))

    def _stored(self, channel_id: int, message_id: int) -> JSON:
        self._channel(channel_id)
        msg = self._message_store.get(message_id)
        if msg is None or int(msg["channel_id"]) != channel_id:
            raise _unknown_message()
        return msg

    async def _get_message(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, copy.deepcopy(self._stored(int(m[1]), int(m[2]))))

    async def _edit_message(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        msg = self._stored(int(m[1]), int(m[2]))
        if int(msg["author"]["id"]) != self.bot_id:
            raise _ApiError(403, "Cannot edit a message authored by another user", 50005)
        body = rec.json if isinstance(rec.json, dict) else {}
        _validate_message_body(body, has_files=bool(rec.files), require_content=False)
        self._apply_edit(msg, body, rec.files)
        recorded = self._recorded_by_id.get(int(msg["id"]))
        if recorded is not None:
            recorded.edits.append(copy.deepcopy(body))
        await self._echo(msg, event="MESSAGE_UPDATE")
        return _Reply(200, copy.deepcopy(msg))

    async def _delete_message(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        msg = self._stored(int(m[1]), int(m[2]))
        channel = self._channel(int(m[1]))
        foreign = int(msg["author"]["id"]) != self.bot_id
        if foreign and channel.guild_id is not None:
            perms = self.permissions_for(channel.guild_id, self.bot_id, channel.id)
            if not perms & MANAGE_MESSAGES:
                raise _ApiError(403, "Missing Permissions", 50013)
        self._message_store.pop(int(msg["id"]), None)
        recorded = self._recorded_by_id.get(int(msg["id"]))
        if recorded is not None:
            recorded.deleted = True
        await self._dispatch_delete(msg)
        return _Reply(204)

    async def _dispatch_delete(self, msg: JSON) -> None:
        channel = self.channels.get(int(msg["channel_id"]))
        if channel is None or int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL:
            return
        data: JSON = {"id": msg["id"], "channel_id": msg["channel_id"]}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        required = INTENT_DIRECT_MESSAGES if channel.is_dm else INTENT_GUILD_MESSAGES

        def per_session(session: GatewaySession, payload: JSON) -> JSON | None:
            return payload if session.intents & required else None

        await self.gateway.dispatch(
            "MESSAGE_DELETE", data, guild_id=channel.guild_id, transform=per_session
        )

    async def _add_reaction(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        channel = self._channel(int(m[1]))
        self._stored(channel.id, int(m[2]))
        self._check_post_allowed(channel, ADD_REACTIONS | READ_MESSAGE_HISTORY)
        emoji = m[3]
        if not emoji:
            raise _ApiError(400, "Unknown Emoji", 10014)
        self.reactions.append(
            RecordedReaction(
                channel_id=channel.id, message_id=int(m[2]), emoji=emoji, user_id=self.bot_id
            )
        )
        return _Reply(204)

    async def _remove_reaction(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        channel = self._channel(int(m[1]))
        self._stored(channel.id, int(m[2]))
        for reaction in self.reactions:
            if reaction.message_id == int(m[2]) and reaction.emoji == m[3] and not reaction.removed:
                reaction.removed = True
        return _Reply(204)

    async def _typing(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        channel = self._channel(int(m[1]))
        self._check_post_allowed(channel, SEND_MESSAGES)
        self.typing.append(channel.id)
        return _Reply(204)

    # -- guilds -----------------------------------------------------------

    def _rest_guild(self, raw: str) -> FakeGuild:
        guild = self.guilds.get(int(raw))
        if guild is None:
            raise _ApiError(404, "Unknown Guild", 10004)
        return guild

    async def _get_guild(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, self._guild_payload(self._rest_guild(m[1])))

    async def _get_guild_channels(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        guild = self._rest_guild(m[1])
        return _Reply(200, [c.payload(self.users) for c in guild.channels.values()])

    async def _get_guild_roles(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        guild = self._rest_guild(m[1])
        return _Reply(200, [r.payload() for r in guild.roles.values()])

    async def _get_member(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        guild = self._rest_guild(m[1])
        uid = int(m[2])
        if uid not in guild.members or uid not in self.users:
            raise _ApiError(404, "Unknown Member", 10007)
        return _Reply(200, guild.members[uid].payload(self.users[uid]))


@contextlib.asynccontextmanager
async def running_fake_discord(**kwargs: Any) -> AsyncIterator[FakeDiscord]:
    """``async with running_fake_discord() as fake:`` -- started *and* patched into discord.py."""
    async with FakeDiscord(**kwargs) as fake, fake.patch_discord():
        yield fake


__all__ = [
    "ADMINISTRATOR",
    "ALL_PERMISSIONS",
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "DiscordPatch",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeRole",
    "FakeUser",
    "RecordedCallback",
    "RecordedFile",
    "RecordedMessage",
    "RecordedReaction",
    "RecordedRequest",
    "RecordedWebhookMessage",
    "SnowflakeFactory",
    "running_fake_discord",
]
