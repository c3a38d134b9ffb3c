"""Loopback emulator of Slack: Web API, response URLs and Socket Mode, on 127.0.0.1 only.

Why this exists: the bot's tests must drive the *real* slack-bolt ``AsyncApp`` and the real
slack_sdk clients end to end — bolt's middleware (request verification, single-workspace
authorization via ``auth.test``, self-event filtering), slack_sdk's retry handlers and the
Socket Mode ack protocol.  Mocking SDK objects would skip exactly the code that breaks in
production, so instead :class:`FakeSlack` is a small aiohttp server that answers the handful of
methods the bot uses the way Slack does, records every call for assertions, and lets a test
inject failures (``ok: false`` errors, HTTP 429 with ``Retry-After``, HTTP 5xx) or hold a
call until released (a slow Slack, without sleeping).

The requests Slack sends to the bot (signed HTTP bodies, Socket Mode payloads) are built by
`tests.fakes.slack.payloads`; Slack's message limits live in `tests.fakes.slack.blockkit`.
The Web API methods' answers are in `tests.fakes.slack.methods`, the workspaces and tokens in
`tests.fakes.slack.workspaces`, OAuth v2 (installs, token rotation, uninstalls) in
`tests.fakes.slack.oauth`, the non-Marketplace history limit in `tests.fakes.slack.limits`.

Typical use::

    async with FakeSlack(bot_token="xoxb-test", app_token="xapp-test") as fake:
        client = AsyncWebClient(token="xoxb-test", base_url=fake.url)
        await client.chat_postMessage(channel="C1", text="hi")
        [call] = await fake.wait_for("chat.postMessage")

Nothing here touches the network beyond the loopback interface, and :meth:`FakeSlack.stop`
closes every websocket and the server, leaving no task of its own behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import json
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self

import aiohttp
from aiohttp import WSCloseCode, WSMsgType, web
from multidict import CIMultiDict, CIMultiDictProxy
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack.blockkit import message_problem
from tests.fakes.slack.files import FILES_SCOPE, SIZE_MISMATCH, UPLOAD, FilesMixin, UploadedFile
from tests.fakes.slack.limits import HistoryRateLimit, PostRateLimit
from tests.fakes.slack.methods import WebApiMethods
from tests.fakes.slack.oauth import OAuthApp, OAuthMixin
from tests.fakes.slack.payloads import (
    DEFAULT_APP_ID,
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_DOMAIN,
    DEFAULT_TEAM_ID,
    SlackRequestBody,
)
from tests.fakes.slack.workspaces import (
    DEFAULT_BOT_NAME,
    DEFAULT_INSTALLER_ID,
    ApiRequest,
    Enterprise,
    IssuedToken,
    TokenRegistry,
    Workspace,
)
from tests.fakes.slack.workspaces import SlackError as _SlackError

__all__ = [
    "DEFAULT_BOT_ID",
    "DEFAULT_SCOPES",
    "FILES_SCOPE",
    "SIZE_MISMATCH",
    "UPLOAD",
    "Call",
    "Enterprise",
    "FakeSlack",
    "HistoryRateLimit",
    "OAuthApp",
    "UploadedFile",
    "Workspace",
]

DEFAULT_TEAM_NAME = "Maxim Test Team"
DEFAULT_BOT_ID = "BBOT"
DEFAULT_SCOPES = (
    "app_mentions:read,channels:history,channels:read,chat:write,commands,files:write,"
    "groups:history,groups:read,im:history,reactions:write,users:read"
)
# The scope each method needs beyond a valid token (Slack: ``missing_scope`` without it).
# Only the file methods are checked, so that existing tests keep their narrower tokens.
_NEEDED_SCOPES = {
    "files.getUploadURLExternal": FILES_SCOPE,
    "files.completeUploadExternal": FILES_SCOPE,
}
ACK_TIMEOUT = 3.0  # Slack drops a request not acknowledged within 3 s
MAX_RETRIES = 3  # Slack redelivers an unacknowledged event this many times
RESPONSE_URL_USES = 5  # a response_url takes at most 5 messages...
RESPONSE_URL_SECONDS = 30 * 60  # ...within 30 minutes

# Form fields whose value Slack (and slack_sdk) send as a JSON string.
_JSON_FORM_FIELDS = frozenset(
    {"blocks", "attachments", "files", "metadata", "unfurls", "user_auth_blocks", "view", "payload"}
)

# What a method takes: no token, a bot token, an app-level token, or any workspace token
# (bot or user, as auth.test does).
_TokenKind = Literal["none", "bot", "app", "workspace"]


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One Web API request as the fake received it, plus what it answered.

    ``body`` merges the query string with the decoded JSON or form body; JSON-carrying form
    fields (``blocks``, ``metadata``, ``attachments``…) are decoded so tests can assert on
    structure whichever encoding slack_sdk picked.  ``headers`` is case-insensitive.
    ``token`` is the token the call carried (``Authorization: Bearer`` or a ``token`` field);
    ``team`` the team id of the workspace it authenticated as (None: no valid workspace
    token, e.g. an app-level token, oauth.v2.access, or a revoked token). ``at`` is the
    fake's ``clock`` when it answered (emulated time, where a test moves the clock).
    """

    method: str
    body: dict[str, Any]
    headers: Mapping[str, str]
    status: int = 200
    response: Mapping[str, Any] = field(default_factory=dict)
    token: str | None = None
    team: str | None = None
    at: float = 0.0
    peer: object = None  # the client's (host, port): which connection carried the call

    @property
    def ok(self) -> bool:
        """Whether the fake answered HTTP 200 with ``ok: true``."""
        return self.status == 200 and self.response.get("ok") is True

    @property
    def error(self) -> str | None:
        """The Slack error code the fake answered with, if any."""
        error = self.response.get("error")
        return str(error) if error is not None else None


@dataclass(frozen=True)
class _Hold:
    gate: asyncio.Event
    drop: bool  # once released, cut the connection instead of answering


@dataclass(frozen=True)
class _Fault:
    kind: Literal["error", "ratelimit", "server"]
    error: str = ""
    retry_after: int = 0
    status: int = 200


@dataclass(eq=False)
class _SocketConnection:
    ws: web.WebSocketResponse
    number: int
    retired: bool = False

    @property
    def usable(self) -> bool:
        return not self.retired and not self.ws.closed


@dataclass(frozen=True)
class _Reply:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


_Handler = Callable[[ApiRequest], dict[str, Any]]


class _DefaultWorkspaceField:
    """``fake.team_name`` and friends: the default workspace's field, read and written."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, fake: FakeSlack | None, owner: type | None = None) -> str:
        if fake is None:
            raise AttributeError(self.name)
        return str(getattr(fake.default_workspace, self.name))

    def __set__(self, fake: FakeSlack, value: str) -> None:
        setattr(fake.default_workspace, self.name, value)


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------


class FakeSlack(WebApiMethods, FilesMixin, OAuthMixin):
    """An aiohttp server on 127.0.0.1 that behaves like the parts of Slack the bot uses.

    It serves several workspaces (`add_workspace`): the constructor's identity is the default
    one and ``bot_token`` its token; OAuth v2 (`oauth_app`, `tests.fakes.slack.oauth`) issues
    more tokens, and every Web API call answers as the workspace of the token it carried.

    Public state tests may read or set directly:

    * ``calls`` — every Web API request, in arrival order (:class:`Call`).
    * ``workspaces`` — `Workspace` by team id; ``default_workspace`` the constructor's.
    * ``users`` — ``users.info`` directory: ``fake.users["U1"] = {"is_admin": True}``.
    * ``responses`` — ``(name, body)`` for every POST to a :meth:`response_url`.
    * ``socket_messages`` / ``socket_acks`` / ``socket_envelopes`` — Socket Mode traffic.
    * ``socket_connections`` — how many websocket sessions were ever established.
    * ``uploaded_files`` — every file id files.getUploadURLExternal issued, with the bytes
      that arrived at its upload URL (`UploadedFile`, `tests.fakes.slack.files`).
    """

    def __init__(
        self,
        bot_token: str = "xoxb-test",  # noqa: S107 - fake credentials for a loopback fake
        app_token: str = "xapp-test",  # noqa: S107
        *,
        team_id: str = DEFAULT_TEAM_ID,
        team_name: str = DEFAULT_TEAM_NAME,
        team_domain: str = DEFAULT_TEAM_DOMAIN,
        bot_user_id: str = DEFAULT_BOT_USER_ID,
        bot_id: str = DEFAULT_BOT_ID,
        bot_name: str = DEFAULT_BOT_NAME,
        app_id: str = DEFAULT_APP_ID,
        scopes: str = DEFAULT_SCOPES,
        channels: Iterable[str] = ("C1",),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Configure the identity the fake reports; nothing listens until :meth:`start`."""
        self.bot_token = bot_token
        self.app_token = app_token
        #: The constructor's workspace; ``team_id``, ``bot_user_id``, ``member_of``… are its.
        self.default_workspace = Workspace(
            team_id, team_name, team_domain, bot_user_id, bot_id, bot_name, channels=set(channels)
        )
        self.workspaces: dict[str, Workspace] = {team_id: self.default_workspace}
        #: Enterprise Grid organisations by enterprise id (`add_enterprise`).
        self.enterprises: dict[str, Enterprise] = {}
        self.app_id = app_id
        self.scopes = scopes
        self._tokens = TokenRegistry()
        self._tokens.add(IssuedToken(bot_token, "bot", team_id))
        self._tokens.add(IssuedToken(app_token, "app", None))
        self._init_oauth()
        #: conversations.history's limit for non-Marketplace apps (`history_rate_limit`).
        self.history_limit: HistoryRateLimit | None = None
        #: chat.postMessage's per-channel and per-workspace limits (`post_rate_limit`).
        self.post_limit: PostRateLimit | None = None
        #: People in each channel, for ``users.conversations``: ``{"C1": {"U1", "U2"}}``.
        self.channel_members: dict[str, set[str]] = {}
        #: Private channels: listed for another user only where the bot is a member too.
        self.private_channels: set[str] = set()
        #: Whether the app's Home tab is on (views.publish answers ``not_enabled`` if not).
        self.home_tab_enabled = True
        #: The Home tab each user sees now (the last view published for them).
        self.home_views: dict[str, dict[str, Any]] = {}
        #: Seconds Slack waits for an acknowledgement (Socket Mode ack, HTTP answer).
        self.ack_timeout = ACK_TIMEOUT
        self.clock = clock

        self.users: dict[str, dict[str, Any]] = {}
        self.calls: list[Call] = []
        self.responses: list[tuple[str, dict[str, Any]]] = []
        self.socket_messages: list[dict[str, Any]] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.socket_envelopes: list[dict[str, Any]] = []
        self.socket_connections = 0
        #: Socket Mode envelopes Slack counted as failed: ``(envelope, reason)``.
        self.socket_failures: list[tuple[dict[str, Any], str]] = []
        #: HTTP requests the bot did not answer within ``ack_timeout``.
        self.http_timeouts: list[SlackRequestBody] = []
        #: HTTP requests the bot answered with a status other than 2xx, and that status.
        self.failed_deliveries: list[tuple[SlackRequestBody, int]] = []
        self.history_pages: list[tuple[str, int, int]] = []  # (channel, offset, messages) read
        #: Whether each chat.postMessage asked Slack to unfurl its text links, by message ts.
        self.unfurl_links: dict[str, bool] = {}
        #: Slack cannot download image blocks' pictures (the public pages are down).
        self.images_unreachable = False
        self._response_urls: dict[str, tuple[str, float]] = {}  # token -> (name, issued at)
        self._response_uses: dict[str, int] = {}
        self._watchers: set[asyncio.Task[None]] = set()

        self._channels: dict[str, list[dict[str, Any]]] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._holds: dict[str, deque[_Hold]] = {}
        self._drops: Counter[str] = Counter()
        #: Files issued by files.getUploadURLExternal, by file id.
        self.uploaded_files: dict[str, UploadedFile] = {}
        self.share_info_delayed = False
        #: Calls waiting at a `hold_next` gate now, by method.
        self.held: Counter[str] = Counter()
        self._slow: dict[str, float] = {}
        self._ts_counter = 0
        self._tickets: set[str] = set()
        self._sockets: list[_SocketConnection] = []
        self._changed = asyncio.Condition()
        self._server: LoopbackServer | None = None
        self._stopping = False
        self._methods: dict[str, tuple[_TokenKind, _Handler]] = {
            "auth.test": ("workspace", self._auth_test),
            "oauth.v2.access": ("none", self._oauth_v2_access),
            "apps.connections.open": ("app", self._apps_connections_open),
            "chat.postMessage": ("bot", self._chat_post_message),
            "chat.postEphemeral": ("bot", self._chat_post_ephemeral),
            "reactions.add": ("bot", self._reactions_add),
            "users.info": ("bot", self._users_info),
            "conversations.history": ("bot", self._conversations_history),
            "users.conversations": ("bot", self._users_conversations),
            "views.publish": ("bot", self._views_publish),
            "files.getUploadURLExternal": ("bot", self._files_get_upload_url_external),
            "files.completeUploadExternal": ("bot", self._files_complete_upload_external),
        }

    team_name = _DefaultWorkspaceField()
    team_domain = _DefaultWorkspaceField()
    bot_user_id = _DefaultWorkspaceField()
    bot_id = _DefaultWorkspaceField()
    bot_name = _DefaultWorkspaceField()

    @property
    def team_id(self) -> str:
        """The default workspace's team id (the constructor's ``team_id``)."""
        return self.default_workspace.team_id

    @property
    def member_of(self) -> set[str]:
        """Channels the bot is a member of in the default workspace.

        chat.postMessage elsewhere is ``not_in_channel``; direct messages (ids starting with
        ``D``) are the bot's own: always a member.  Other workspaces: ``Workspace.channels``.
        """
        return self.default_workspace.channels

    @member_of.setter
    def member_of(self, channels: set[str]) -> None:
        self.default_workspace.channels = channels

    def add_workspace(
        self,
        team_id: str,
        *,
        team_name: str | None = None,
        team_domain: str | None = None,
        bot_user_id: str | None = None,
        bot_id: str | None = None,
        bot_name: str = DEFAULT_BOT_NAME,
        installer_user_id: str = DEFAULT_INSTALLER_ID,
        channels: Iterable[str] = (),
        bot_token: str | None = None,
        scopes: str | None = None,
    ) -> Workspace:
        """Another workspace the app can be installed in; ids default to ones derived from it.

        It has no token until OAuth installs the app there (`issue_code`, the authorize page)
        unless ``bot_token`` is given: a ready-made, never-expiring token for it, granted
        ``scopes`` (comma-separated; default the fake's ``scopes``, which include
        ``files:write``; an installation from before cards: ``scopes=`` without it).  Channel
        ids are global (as on Slack): keep each workspace's ``channels`` distinct.
        """
        if team_id in self.workspaces:
            raise ValueError(f"workspace {team_id} already exists")
        workspace = Workspace(
            team_id=team_id,
            team_name=team_name or f"Team {team_id}",
            team_domain=team_domain or team_id.lower(),
            bot_user_id=bot_user_id or f"UBOT{team_id}",
            bot_id=bot_id or f"BBOT{team_id}",
            bot_name=bot_name,
            installer_user_id=installer_user_id,
            channels=set(channels),
        )
        self.workspaces[team_id] = workspace
        if bot_token is not None:
            self._tokens.add(IssuedToken(bot_token, "bot", team_id, scopes))
        return workspace

    def add_enterprise(
        self, enterprise_id: str, *, teams: Iterable[str], name: str | None = None
    ) -> Enterprise:
        """An Enterprise Grid organisation over the existing workspaces ``teams``.

        OAuth can then install the app org-wide (`issue_code(enterprise_id=...)`, or
        ``next_install_enterprise`` for the authorize page): one token for the org, which
        answers in whichever of its workspaces a call names (by ``channel``, else
        ``team_id``, else the first of them). Installing into one of its workspaces alone
        still works, and oauth.v2.access names the org then too.
        """
        if enterprise_id in self.enterprises:
            raise ValueError(f"enterprise {enterprise_id} already exists")
        org = Enterprise(
            enterprise_id,
            name or f"Org {enterprise_id}",
            f"UBOT{enterprise_id}",
            f"BBOT{enterprise_id}",
        )
        for team in teams:
            self._workspace(team).enterprise_id = enterprise_id
        self.enterprises[enterprise_id] = org
        return org

    def revoke_team_access(self, enterprise_id: str, team_id: str) -> None:
        """An org admin takes the org-wide installation out of workspace ``team_id``.

        Calls with the org's token there answer ``team_access_not_granted`` from then on.
        """
        self.enterprises[enterprise_id].not_granted.add(self._workspace(team_id).team_id)

    def deny_scope(self, scope: str, team_id: str | None = None) -> None:
        """Take ``scope`` from every token of ``team_id`` (default: the default workspace).

        Like an installation made before the app asked for that scope: calls needing it
        answer ``missing_scope``.  Tokens OAuth issues later get what the install asked for.
        """
        team = team_id or self.team_id
        for token in self._tokens:
            if token.team_id == team:
                granted = (token.scopes or self.scopes).split(",")
                token.scopes = ",".join(s for s in granted if s != scope)

    def grant_scope(self, scope: str, team_id: str | None = None) -> None:
        """Give ``scope`` to every token of ``team_id`` again (default: the default one)."""
        team = team_id or self.team_id
        for token in self._tokens:
            if token.team_id == team:
                granted = (token.scopes or self.scopes).split(",")
                if scope not in granted:
                    token.scopes = ",".join([*granted, scope])

    def history_rate_limit(self, per_minute: int = 1, max_limit: int = 15) -> HistoryRateLimit:
        """Slack's conversations.history limit for non-Marketplace distributed apps.

        Since 2025-05-29: per workspace, ``per_minute`` calls in any 60 s (by ``clock``), each
        showing at most ``max_limit`` messages (``has_more``/``next_cursor`` stay right);
        a call over the rate gets HTTP 429 ``ratelimited`` with ``Retry-After`` the seconds
        left.  Set ``fake.history_limit = None`` to lift it.
        """
        self.history_limit = HistoryRateLimit(per_minute, max_limit)
        return self.history_limit

    def post_rate_limit(self, channel_interval: float = 1.0) -> PostRateLimit:
        """Slack's limits on chat.postMessage: one message a second per channel (by ``clock``).

        A post to a channel within ``channel_interval`` of its last one gets HTTP 429
        ``ratelimited`` with ``Retry-After``; `throttle` adds a workspace over its own limit.
        Set ``fake.post_limit = None`` to lift them.
        """
        if self.post_limit is None:
            self.post_limit = PostRateLimit(channel_interval)
        self.post_limit.channel_interval = channel_interval
        return self.post_limit

    def throttle(self, team_id: str, seconds: float, *, retry_after: int | None = None) -> None:
        """Answer every chat.postMessage of ``team_id`` with 429 for ``seconds`` (by ``clock``).

        ``Retry-After`` says the whole seconds left, as Slack does for a workspace over its
        limit, or always ``retry_after`` if given (a workspace limited all along); other
        workspaces post as usual. Turns on `post_rate_limit` if it is off.
        """
        limit = self.post_limit or self.post_rate_limit()
        limit.throttled[team_id] = self.clock() + seconds
        if retry_after is not None:
            limit.retry_afters[team_id] = retry_after

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> Self:
        """Bind a free port on 127.0.0.1 and start serving; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("FakeSlack is already started")
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{name}/{token}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/link/", self._handle_socket)
        app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        app.on_shutdown.append(self._close_sockets)
        # A short shutdown_timeout: stop() must not hang on a client that keeps a handler busy.
        server = LoopbackServer(app, shutdown_timeout=1.0)
        await server.start()
        self._server = server
        self._stopping = False
        return self

    async def stop(self) -> None:
        """Close every websocket, then the server; idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping = True
        for holds in self._holds.values():  # a held call must not keep stop() waiting
            for hold in holds:
                hold.gate.set()
        self._holds.clear()
        for watcher in list(self._watchers):
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        await server.stop()  # stops listening, runs _close_sockets, then drains handlers

    async def __aenter__(self) -> Self:
        """Start the server for the duration of an ``async with`` block."""
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server, whatever happened inside the block."""
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the fake listens on (127.0.0.1)."""
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return self._server.port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/``."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url(self) -> str:
        """Web API base URL for ``AsyncWebClient(base_url=...)``; ends with ``/``."""
        return f"{self.base_url}api/"

    def web_client(
        self,
        token: str | None = None,
        *,
        retry_handlers: list[AsyncRetryHandler] | None = None,
        **kwargs: Any,
    ) -> AsyncWebClient:
        """A real ``AsyncWebClient`` pointed at the fake (bot token unless ``token`` given)."""
        return AsyncWebClient(
            token=self.bot_token if token is None else token,
            base_url=self.url,
            retry_handlers=retry_handlers,
            **kwargs,
        )

    def clear(self) -> None:
        """Forget recorded traffic and pending faults (channel history and users are kept)."""
        self.calls.clear()
        self.responses.clear()
        self.socket_messages.clear()
        self.socket_acks.clear()
        self.socket_envelopes.clear()
        self.socket_failures.clear()
        self.http_timeouts.clear()
        self.failed_deliveries.clear()
        self._faults.clear()
        self._drops.clear()

    # ---------------------------------------------------------------- recording helpers

    def calls_to(self, method: str, *, ok: bool | None = None) -> list[Call]:
        """Recorded calls to ``method``, optionally only successful (``ok=True``) or failed ones."""
        return [c for c in self.calls if c.method == method and (ok is None or c.ok == ok)]

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0, *, ok: bool | None = None
    ) -> list[Call]:
        """Wait until ``count`` calls to ``method`` were recorded; return all of them.

        Raises AssertionError listing what *was* recorded if ``timeout`` passes first.
        """
        await self._wait_until(
            lambda: len(self.calls_to(method, ok=ok)) >= count,
            timeout,
            lambda: (
                f"expected {count} call(s) to {method}"
                f"{'' if ok is None else f' with ok={ok}'} within {timeout}s, "
                f"got {len(self.calls_to(method, ok=ok))}; recorded: {self._describe_calls()}"
            ),
        )
        return self.calls_to(method, ok=ok)

    @property
    def pending_acks(self) -> int:
        """Socket Mode envelopes whose ack deadline has not settled yet (acked or failed)."""
        return len(self._watchers)

    async def wait_until(
        self, predicate: Callable[[], bool], what: str, timeout: float = 5.0
    ) -> None:
        """Wait until `predicate()` holds after some recorded traffic; else AssertionError(what)."""
        await self._wait_until(predicate, timeout, lambda: f"{what} within {timeout}s")

    def add_chatter(self, channel: str, count: int, user: str = "U2") -> None:
        """`count` messages from a person in `channel`, newer than anything there: a busy day."""
        history = self._channels.setdefault(channel, [])
        for n in range(count):
            message = {"type": "message", "user": user, "text": f"chat {n}"}
            history.append({**message, "ts": self._next_ts()})

    def channel_messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages the bot currently has in ``channel`` (oldest first, threads included)."""
        return copy.deepcopy(self._channels.get(channel, []))

    # ---------------------------------------------------------------- failure injection

    def fail_next(self, method: str, error: str = "not_in_channel", times: int = 1) -> None:
        """Answer the next ``times`` calls to ``method`` with HTTP 200 ``ok: false, error``.

        Injected faults are consumed first-in first-out per method and take precedence over
        token checks and unknown-method handling, like a failing Slack front end would.
        """
        self._add_faults(method, _Fault("error", error=error), times)

    def rate_limit_next(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Answer the next ``times`` calls with HTTP 429, ``Retry-After: retry_after``.

        slack_sdk parses the header with ``int()`` and sleeps ``retry_after + random()``
        seconds, so keep it an integer (0 is accepted and means "under a second").
        """
        if retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        self._add_faults(method, _Fault("ratelimit", retry_after=retry_after), times)

    def server_error_next(self, method: str, status: int = 500, times: int = 1) -> None:
        """Answer the next ``times`` calls with HTTP ``status`` (slack_sdk retries 500/503)."""
        if status < 500:
            raise ValueError("server errors are 5xx")
        self._add_faults(method, _Fault("server", status=status), times)

    def hold_next(self, method: str, *, drop: bool = False) -> asyncio.Event:
        """Keep the next call to ``method`` waiting until the returned event is set.

        A slow Slack without sleeping: the call is recorded only once it is released, and
        :meth:`stop` releases anything still held. While it waits, ``held[method]`` counts it
        (``await fake.wait_until(lambda: fake.held["auth.test"] == 1, ...)``).  With
        ``drop=True`` the released call is dropped (see `drop_next`) instead of answered:
        Slack never acted on it, whatever the caller did meanwhile.  ``method`` may be
        `UPLOAD`, the upload URL of files.getUploadURLExternal.
        """
        gate = asyncio.Event()
        self._holds.setdefault(method, deque()).append(_Hold(gate, drop))
        return gate

    def drop_next(self, method: str, times: int = 1) -> None:
        """Cut the connection of the next ``times`` calls to ``method`` without acting on them.

        A network failure between the bot and Slack: the caller gets a connection error and
        Slack changed nothing (the call is in ``calls`` with status 0).  ``method`` may be
        `UPLOAD`: the bytes never arrive.
        """
        if times < 1:
            raise ValueError("times must be >= 1")
        self._drops[method] += times

    def slow_down(self, method: str, seconds: float) -> None:
        """Answer every call to ``method`` ``seconds`` after it arrives (0: at once again).

        A Slack that is slow for everyone, so that concurrent callers really overlap (two
        processes racing to refresh one token). Where a test can wait for a condition
        instead, `hold_next` with `held` says exactly when a call has arrived.
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._slow[method] = seconds

    def held_calls(self, method: str) -> int:
        """How many calls to ``method`` are waiting at a :meth:`hold_next` gate right now."""
        return self.held[method]

    def _add_faults(self, method: str, fault: _Fault, times: int) -> None:
        if times < 1:
            raise ValueError("times must be >= 1")
        self._faults.setdefault(method, deque()).extend([fault] * times)

    # ---------------------------------------------------------------- response_url

    def response_url(self, name: str = "default") -> str:
        """A new response_url served by the fake; POSTs to it land in ``responses`` as ``name``.

        Like Slack's, each URL takes at most `RESPONSE_URL_USES` POSTs within
        `RESPONSE_URL_SECONDS` of being issued (by ``clock``), then answers 404.
        """
        token = uuid.uuid4().hex
        self._response_urls[token] = (name, self.clock())
        return f"{self.base_url}response/{name}/{token}"

    async def wait_for_response(
        self, count: int = 1, timeout: float = 5.0, *, name: str | None = None
    ) -> list[tuple[str, dict[str, Any]]]:
        """Wait until ``count`` response_url POSTs (to ``name``, if given) were recorded."""

        def matching() -> list[tuple[str, dict[str, Any]]]:
            return [r for r in self.responses if name is None or r[0] == name]

        await self._wait_until(
            lambda: len(matching()) >= count,
            timeout,
            lambda: (
                f"expected {count} response_url POST(s){f' to {name}' if name else ''} within "
                f"{timeout}s, got {len(matching())}: {self.responses!r}"
            ),
        )
        return matching()

    # ---------------------------------------------------------------- HTTP mode

    async def deliver(
        self,
        url: str,
        built: SlackRequestBody,
        signing_secret: str,
        *,
        timestamp: int | None = None,
        retry: tuple[int, str] | None = None,
    ) -> tuple[int, str] | None:
        """POST a signed request to the bot's Request URL, as Slack does: (status, text).

        Slack waits ``ack_timeout`` seconds for the answer, then gives up and shows the user
        an error: such a request is recorded in ``http_timeouts`` and this returns None. An
        answer other than 2xx is a failed delivery (recorded in ``failed_deliveries``): enough
        of them and Slack turns the app's events off. `retry` is Slack's redelivery of an
        event, ``(number, reason)``, sent as ``X-Slack-Retry-Num`` and
        ``X-Slack-Retry-Reason``; `timestamp` signs it at that second (default: now).
        """
        headers = built.headers(signing_secret, timestamp)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry[0]), "X-Slack-Retry-Reason": retry[1]}
        async with aiohttp.ClientSession() as session:
            try:
                async with (
                    asyncio.timeout(self.ack_timeout),
                    session.post(url, data=built.body.encode(), headers=headers) as response,
                ):
                    answer = response.status, await response.text()
            except TimeoutError:
                await self._notify(lambda: self.http_timeouts.append(built))
                return None
        if not 200 <= answer[0] < 300:
            await self._notify(lambda: self.failed_deliveries.append((built, answer[0])))
        return answer

    # ---------------------------------------------------------------- Socket Mode

    async def wait_socket_connected(self, timeout: float = 5.0) -> None:
        """Wait until a Socket Mode client is connected (and was sent its ``hello``)."""
        await self._wait_until(
            lambda: self._current_socket() is not None,
            timeout,
            lambda: (
                f"no Socket Mode client connected within {timeout}s "
                f"(sessions so far: {self.socket_connections}, "
                f"tickets issued: {len(self._tickets)})"
            ),
        )

    async def socket_post(
        self,
        type_: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool = True,
        timeout: float = 5.0,
        envelope_id: str | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send one envelope to the connected client without waiting for its ack.

        ``type_`` is ``"slash_commands"``, ``"interactive"`` or ``"events_api"``; returns the
        envelope id for :meth:`wait_socket_ack`.  Waits up to ``timeout`` for a connection.
        """
        await self.wait_socket_connected(timeout)
        conn = self._current_socket()
        if conn is None:  # pragma: no cover - the wait above guarantees one
            raise AssertionError("Socket Mode client vanished")
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id or str(uuid.uuid4()),
            "payload": payload,
            "type": type_,
            "accepts_response_payload": accepts_response_payload,
        }
        if type_ == "events_api":  # Slack adds these to every Events API envelope
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        self.socket_envelopes.append(envelope)
        await conn.ws.send_str(json.dumps(envelope))
        watcher = asyncio.get_running_loop().create_task(self._watch_ack(envelope))
        self._watchers.add(watcher)
        watcher.add_done_callback(self._watchers.discard)
        return str(envelope["envelope_id"])

    async def _watch_ack(self, envelope: dict[str, Any]) -> None:
        """Count an envelope not acknowledged in time as failed; redeliver events, like Slack.

        Slack retries an Events API envelope up to `MAX_RETRIES` times, with the same event and
        ``retry_attempt``/``retry_reason`` set; commands and interactions are not retried (the
        user sees an error instead).
        """
        envelope_id = str(envelope["envelope_id"])
        try:
            await self._wait_until(
                lambda: self._find_ack(envelope_id) is not None, self.ack_timeout, str
            )
            return
        except AssertionError:
            pass
        await self._notify(lambda: self.socket_failures.append((envelope, "timeout")))
        attempt = int(envelope.get("retry_attempt") or 0)
        if envelope["type"] == "events_api" and attempt < MAX_RETRIES and not self._stopping:
            with contextlib.suppress(AssertionError, ConnectionError):
                await self.socket_post(
                    "events_api",
                    envelope["payload"],
                    accepts_response_payload=bool(envelope["accepts_response_payload"]),
                    retry_attempt=attempt + 1,
                    retry_reason="timeout",
                )

    async def wait_socket_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        """Wait for the client's ack of ``envelope_id``; return it (bolt's ack body is in
        its ``"payload"``)."""
        await self._wait_until(
            lambda: self._find_ack(envelope_id) is not None,
            timeout,
            lambda: (
                f"no ack for envelope {envelope_id} within {timeout}s (bolt sends none when no "
                f"listener matched); client sent: {self.socket_messages!r}"
            ),
        )
        ack = self._find_ack(envelope_id)
        assert ack is not None
        return ack

    async def socket_send(
        self,
        type_: str,
        payload: dict[str, Any],
        accepts_response_payload: bool = True,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Send an envelope and wait for its ack; return the ack message."""
        envelope_id = await self.socket_post(
            type_,
            payload,
            accepts_response_payload=accepts_response_payload,
            timeout=timeout,
            **kwargs,
        )
        return await self.wait_socket_ack(envelope_id, timeout)

    async def socket_disconnect(
        self, reason: str = "refresh_requested", *, close: bool = False
    ) -> None:
        """Ask the connected client to reconnect, as Slack does every few hours.

        Sends ``{"type": "disconnect", "reason": reason}`` (or, with ``close=True``, closes the
        websocket).  The session stops counting as connected at once, so a following
        :meth:`wait_socket_connected` waits for the *new* session.
        """
        conn = self._current_socket()
        if conn is None:
            raise AssertionError("no Socket Mode client is connected")
        conn.retired = True
        if close:
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=reason.encode())
        else:
            message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}}
            await conn.ws.send_str(json.dumps(message))

    def _current_socket(self) -> _SocketConnection | None:
        return next((c for c in reversed(self._sockets) if c.usable), None)

    def _find_ack(self, envelope_id: str) -> dict[str, Any] | None:
        return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

    # ---------------------------------------------------------------- synchronisation

    async def _wait_until(
        self, predicate: Callable[[], bool], timeout: float, describe: Callable[[], str]
    ) -> None:
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(describe()) from None

    async def _notify(self, update: Callable[[], None] | None = None) -> None:
        async with self._changed:
            if update is not None:
                update()
            self._changed.notify_all()

    def _describe_calls(self) -> str:
        if not self.calls:
            return "nothing"
        return ", ".join(
            f"{c.method}[{c.status}{'' if c.ok else f' {c.error}'}]" for c in self.calls
        )

    # ---------------------------------------------------------------- HTTP handlers

    async def _await_hold(self, method: str) -> bool:
        """Wait at the next `hold_next` gate of ``method``, if any; True: drop the call."""
        held = self._holds.get(method)
        if not held:
            return False
        hold = held.popleft()
        await self._notify(lambda: self.held.update([method]))
        try:
            await hold.gate.wait()
        finally:
            self.held[method] -= 1
        return hold.drop

    def _take_drop(self, method: str) -> bool:
        """Whether a `drop_next` of ``method`` is pending (and spend it)."""
        if self._drops[method] <= 0:
            return False
        self._drops[method] -= 1
        return True

    def _fault_response(self, method: str) -> web.Response | None:
        """The next injected fault of ``method`` as a plain HTTP answer (the upload URL's)."""
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue.popleft()
        if fault.kind == "ratelimit":
            return web.Response(status=429, headers={"Retry-After": str(fault.retry_after)})
        if fault.kind == "server":
            return web.Response(status=fault.status, text="internal_error")
        return web.Response(status=400, text=fault.error, content_type="text/plain")

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        headers = CIMultiDictProxy(CIMultiDict(request.headers))
        drop = await self._await_hold(method) or self._take_drop(method)
        if self._slow.get(method):
            await asyncio.sleep(self._slow[method])
        try:
            body = await _decode_request_body(request)
        except ValueError:
            body = {}
            reply = _Reply(200, {"ok": False, "error": "invalid_json"})
        else:
            reply = _Reply(0, {}) if drop else self._dispatch(method, body, headers)
        token = _carried_token(headers, body)
        call = Call(
            method=method,
            body=body,
            headers=headers,
            status=reply.status,
            response=reply.body,
            token=token,
            team=self._team_of(token, body),
            at=self.clock(),
            peer=request.transport.get_extra_info("peername") if request.transport else None,
        )
        await self._notify(lambda: self.calls.append(call))
        if drop:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=500)  # never reaches the caller
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    def _team_of(self, token: str | None, body: Mapping[str, Any]) -> str | None:
        """The team id a token authenticates as now (an org's: the call's workspace), or None."""
        issued = self._tokens.get(token) if token else None
        if issued is None or issued.problem(self.clock()) is not None:
            return None
        workspace = self._workspace_of(issued, body)
        return None if workspace is None else workspace.team_id

    def _workspace_of(self, issued: IssuedToken, body: Mapping[str, Any]) -> Workspace | None:
        """The workspace a call with ``issued`` acts in; an org-wide token's: the one it names.

        An org-wide token serves every workspace of its org: the channel's (channel ids are
        unique across Slack), else the ``team_id`` argument's, else the org's first.
        """
        if issued.team_id is not None:
            return self.workspaces.get(issued.team_id)
        if issued.enterprise_id is None:
            return None  # an app-level token
        org = [w for w in self.workspaces.values() if w.enterprise_id == issued.enterprise_id]
        channel = str(body.get("channel") or "")
        named = [w for w in org if channel in w.channels] or [
            w for w in org if w.team_id == body.get("team_id")
        ]
        return (named or org or [None])[0]

    def _dispatch(self, method: str, body: dict[str, Any], headers: Mapping[str, str]) -> _Reply:
        queue = self._faults.get(method)
        if queue:
            fault = queue.popleft()
            if fault.kind == "ratelimit":
                return _Reply(
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(fault.retry_after)},
                )
            if fault.kind == "server":
                return _Reply(fault.status, {"ok": False, "error": "internal_error"})
            return _Reply(200, {"ok": False, "error": fault.error})
        entry = self._methods.get(method)
        if entry is None:
            return _Reply(200, {"ok": False, "error": "unknown_method"})
        kind, handler = entry
        req = ApiRequest(body, headers, _carried_token(headers, body))
        try:
            req = self._authenticate(kind, req)
            wait = self._history_wait(method, req) or self._post_wait(method, req)
            if wait is not None:
                return _Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": wait})
            self._check_scope(method, req)
            result = handler(req)
        except _SlackError as e:
            return _Reply(200, {"ok": False, "error": e.error, **e.fields})
        extra: dict[str, str] = {}
        if req.issued is not None and req.issued.kind != "app":
            extra["X-OAuth-Scopes"] = req.issued.scopes or self.scopes
        return _Reply(200, {"ok": True, **result}, extra)

    def _authenticate(self, kind: _TokenKind, req: ApiRequest) -> ApiRequest:
        """``req`` with the workspace its token belongs to; Slack's errors if it has none."""
        if kind == "none":
            return req
        if not req.token:
            raise _SlackError("not_authed")
        issued = self._tokens.get(req.token)
        if issued is None:
            raise _SlackError("invalid_auth")
        problem = issued.problem(self.clock())
        if problem is not None:
            raise _SlackError(problem)
        wanted = {"bot", "user"} if kind == "workspace" else {kind}
        if issued.kind not in wanted:
            raise _SlackError("not_allowed_token_type")
        workspace = self._workspace_of(issued, req.body)
        org = self.enterprises.get(issued.enterprise_id or "") if issued.team_id is None else None
        if org is not None and workspace is not None and workspace.team_id in org.not_granted:
            raise _SlackError("team_access_not_granted")
        return ApiRequest(req.body, req.headers, req.token, workspace, issued)

    def _check_scope(self, method: str, req: ApiRequest) -> None:
        """Slack's ``missing_scope``, with the ``needed`` and ``provided`` scopes."""
        needed = _NEEDED_SCOPES.get(method)
        if needed is None or req.issued is None:
            return
        provided = req.issued.scopes or self.scopes
        if needed not in provided.split(","):
            raise _SlackError("missing_scope", needed=needed, provided=provided)

    def _history_wait(self, method: str, req: ApiRequest) -> str | None:
        """Retry-After for a conversations.history call over the non-Marketplace rate."""
        if method != "conversations.history" or self.history_limit is None:
            return None
        wait = self.history_limit.retry_after(req.team.team_id, self.clock())
        return None if wait is None else str(wait)

    def _post_wait(self, method: str, req: ApiRequest) -> str | None:
        """Retry-After for a chat.postMessage over a channel's or a workspace's limit."""
        if method != "chat.postMessage" or self.post_limit is None:
            return None
        channel = str(req.body.get("channel", ""))
        wait = self.post_limit.retry_after(req.team.team_id, channel, self.clock())
        return None if wait is None else str(wait)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        issued = self._response_urls.get(token)
        if issued is None:
            return web.Response(status=404, text="no_such_url")
        name, issued_at = issued
        if self.clock() - issued_at > RESPONSE_URL_SECONDS:
            return web.Response(status=404, text="expired_url")
        if self._response_uses.get(token, 0) >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url")
        try:
            body = await _decode_request_body(request)
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if isinstance(body.get("payload"), dict):  # form-encoded payload=<json>
            body = body["payload"]
        problem = None if body.get("delete_original") else message_problem(body)
        if problem is None and self.images_unreachable:
            blocks = body.get("blocks") or []
            problem = "invalid_blocks" if any(b.get("type") == "image" for b in blocks) else None
        if problem is not None:
            return web.Response(status=400, text=problem)
        self._response_uses[token] = self._response_uses.get(token, 0) + 1
        await self._notify(lambda: self.responses.append((name, body)))
        return web.Response(text="ok")

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        if self._stopping or request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid or expired ticket")
        ws = web.WebSocketResponse(autoping=True, timeout=1.0)
        await ws.prepare(request)
        self.socket_connections += 1
        conn = _SocketConnection(ws=ws, number=self.socket_connections)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": sum(1 for c in self._sockets if c.usable) + 1,
                    "debug_info": {
                        "host": "fake-slack",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        await self._notify(lambda: self._sockets.append(conn))
        try:
            async for msg in ws:  # aiohttp answers pings itself (autoping)
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(msg.data)
                except ValueError:
                    data = {"raw": msg.data}
                if not isinstance(data, dict):
                    data = {"raw": data}
                await self._notify(functools.partial(self._record_socket_message, data))
        finally:
            await self._notify(lambda: self._sockets.remove(conn))
        return ws

    def _record_socket_message(self, data: dict[str, Any]) -> None:
        self.socket_messages.append(data)
        if "envelope_id" in data:
            self.socket_acks.append(data)
            payload = data.get("payload")
            problem = message_problem(payload) if isinstance(payload, dict) else None
            if problem is not None:  # Slack shows the user an error instead of the answer
                envelope = next(
                    (e for e in self.socket_envelopes if e["envelope_id"] == data["envelope_id"]),
                    {"envelope_id": data["envelope_id"]},
                )
                self.socket_failures.append((envelope, problem))

    async def _close_sockets(self, _app: web.Application) -> None:
        for conn in list(self._sockets):
            conn.retired = True
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")


# --------------------------------------------------------------------------------------------
# Request decoding helpers
# --------------------------------------------------------------------------------------------


def _carried_token(headers: Mapping[str, str], body: Mapping[str, Any]) -> str | None:
    """The token a Web API call carries: ``Authorization: Bearer``, else a ``token`` field."""
    auth = headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :].strip() or None
    token = body.get("token")
    return str(token) if token else None


async def _decode_request_body(request: web.Request) -> dict[str, Any]:
    """Merge query string and JSON/form body; decode JSON-carrying form fields.

    Raises ValueError on a body that claims to be JSON but is not a JSON object.
    """
    body: dict[str, Any] = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/x-www-form-urlencoded":
            form = await request.post()
            body.update({key: str(value) for key, value in form.items()})
        else:
            raw = await request.text()
            if raw.strip():
                data = json.loads(raw)
                if not isinstance(data, dict):
                    raise ValueError("JSON body must be an object")
                body.update(data)
    for key in _JSON_FORM_FIELDS & body.keys():
        value = body[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # Leave an undecodable value as sent; a failing assertion will show the raw string.
            with contextlib.suppress(ValueError):
                body[key] = json.loads(value)
    return body
