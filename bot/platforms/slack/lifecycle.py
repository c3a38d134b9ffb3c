"""The Slack platform: slack-bolt's `AsyncApp` in Socket Mode or HTTP mode, and `SlackPoster`.

Each listener pulls plain values out of the Bolt payload, makes one `ChatService` call and
renders the answer with `bot.platforms.slack.render`. Slack gives every request 3 s: the app runs
with ``process_before_response=True`` (Bolt's default runner polls for ``ack()`` every 10 ms,
which alone costs ~11 ms a request), so listeners acknowledge at once and push anything slow
(chat.postMessage, reactions, response_url calls) into `Background` tasks.

Secrets and URLs come from `Settings` only: Bolt's constructor reads ``SLACK_*`` variables on its
own (and switches to multi-workspace OAuth if it finds ``SLACK_CLIENT_ID``), so they are hidden
from it while it is built.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import Background
from bot.chat import ACK_DEADLINE, ChatService, Origin, in_time
from bot.config import slack_mode
from bot.log import report_failure
from bot.platforms import HealthCheck, StartupError, no_scheduler
from bot.platforms.slack.render import (
    Message,
    render_daily,
    render_maxim,
    render_preview,
    render_reply,
    render_shared,
)
from bot.poster import ChannelUnavailable, PostError, RateLimited
from bot.preview import ACTION_CANCEL, ACTION_POST, ACTION_SHUFFLE, STALE_PREVIEW, is_private
from maxims import Maxim, Reply, parse_query
from maxims.query import DailyOff, DailySet

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.config import Secrets, SlackConfig

log = logging.getLogger(__name__)

PLATFORM = "slack"
ADMIN_CACHE_SECONDS = 300.0
STOP_TIMEOUT = 5.0
HISTORY_LIMIT = 100  # find_post runs minutes after a crash: the post is among the newest
METADATA_TYPE = "maxim_daily"
# Errors that mean the bot cannot post in this channel at all: retrying will not help.
CHANNEL_GONE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "channel_is_archived"}
)
# Message subtypes written by people (everything else is an edit, a deletion, a join, a bot...).
HUMAN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
# Variables Bolt's constructor would read by itself.
BOLT_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_VERIFICATION_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)
WORKING = "Working on it…"
BOT_TOKEN_PROBLEMS = {
    "invalid_auth": "SLACK_BOT_TOKEN was rejected (invalid_auth): copy the Bot User OAuth "
    "Token (xoxb-…) from the app's OAuth & Permissions page",
    "not_authed": "no bot token reached Slack (not_authed): set SLACK_BOT_TOKEN to the Bot User "
    "OAuth Token (xoxb-…)",
    "token_revoked": "SLACK_BOT_TOKEN was revoked (token_revoked): reinstall the app to the "
    "workspace and use its new xoxb- token",
    "token_expired": "SLACK_BOT_TOKEN has expired (token_expired): turn off token rotation or "
    "reinstall the app, and use its new xoxb- token",
    "not_allowed_token_type": "SLACK_BOT_TOKEN is not a bot token (not_allowed_token_type): use "
    "the xoxb- Bot User OAuth Token, not an xapp- or xoxp- token",
    "account_inactive": "the bot account is inactive (account_inactive): the app was "
    "uninstalled or the workspace deactivated; reinstall it and update SLACK_BOT_TOKEN",
}
APP_TOKEN_PROBLEMS = {
    "invalid_auth": "SLACK_APP_TOKEN was rejected (invalid_auth): create an app-level token "
    "(xapp-…) with the connections:write scope under Basic Information",
    "not_authed": "no app token reached Slack (not_authed): set SLACK_APP_TOKEN to an xapp- token",
    "token_revoked": "SLACK_APP_TOKEN was revoked (token_revoked): create a new app-level token",
    "not_allowed_token_type": "SLACK_APP_TOKEN is not an app-level token "
    "(not_allowed_token_type): use the xapp- token with connections:write, not the xoxb- one",
    "missing_scope": "SLACK_APP_TOKEN lacks the connections:write scope (missing_scope): "
    "create an app-level token with that scope",
}


# ------------------------------------------------------------------------------------------
# Web API client, errors


def build_web_client(config: SlackConfig, secrets: Secrets) -> AsyncWebClient:
    """The Web API client: `slack.api_url`, the bot token, and slack_sdk's retry handlers.

    Rate limits are retried once after Slack's Retry-After (then the caller decides: the
    scheduler waits and tries again), server errors and dropped connections twice.
    """
    token = secrets.slack_bot_token
    return AsyncWebClient(
        token=token.get_secret_value() if token else None,
        base_url=config.api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def error_code(err: SlackApiError) -> str:
    """Slack's error code (``not_in_channel``) from an API error."""
    code = err.response.get("error") if err.response is not None else None
    return str(code or "unknown_error")


def _retry_after(err: SlackApiError) -> float:
    raw: Any = err.response.headers.get("Retry-After", "1") if err.response is not None else "1"
    if isinstance(raw, list | tuple):
        raw = raw[0] if raw else "1"
    try:
        return max(float(raw), 0.0)
    except (TypeError, ValueError):
        return 1.0


def post_error(err: SlackApiError) -> PostError:
    """The poster error for a failed Slack call (after slack_sdk's own retries)."""
    code = error_code(err)
    status = err.response.status_code if err.response is not None else 0
    if status == 429 or code == "ratelimited":
        return RateLimited(_retry_after(err), "ratelimited")
    if code in CHANNEL_GONE:
        return ChannelUnavailable(code)
    return PostError(code)


# ------------------------------------------------------------------------------------------
# The daily poster


class SlackPoster:
    """Posts the maxim of the day with chat.postMessage, tagged with its key in metadata."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel: str, maxim: Maxim, *, key: str) -> str:
        """Post and return the message ts; Slack errors become `PostError`s."""
        try:
            response = await self.client.chat_postMessage(
                channel=channel,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
                **render_daily(maxim),
            )
        except SlackApiError as err:
            raise post_error(err) from None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise PostError(f"cannot reach Slack ({type(err).__name__})") from None
        return str(response["ts"])

    async def find_post(self, channel: str, key: str) -> str | None:
        """The ts of a recent message of ours carrying `key`, if there is one."""
        try:
            response = await self.client.conversations_history(
                channel=channel, include_all_metadata=True, limit=HISTORY_LIMIT
            )
        except SlackApiError as err:
            raise post_error(err) from None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise PostError(f"cannot reach Slack ({type(err).__name__})") from None
        for message in response.get("messages") or []:
            metadata = message.get("metadata") or {}
            payload = metadata.get("event_payload") or {}
            if metadata.get("event_type") == METADATA_TYPE and payload.get("key") == key:
                return str(message["ts"])
        return None


# ------------------------------------------------------------------------------------------
# Administrators


class SlackAdmins:
    """Who may change daily posts: ``slack.admins``, or workspace admins and owners.

    ``users.info`` answers are cached for a few minutes: a burst of `/maxim daily` commands
    costs one call, and a demoted admin loses the right soon after.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        admins: tuple[str, ...] = (),
        *,
        ttl: float = ADMIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.admins = frozenset(admins)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}

    async def is_admin(self, user_id: str) -> bool:
        """Whether `user_id` may change this workspace's daily posts."""
        if user_id in self.admins:
            return True
        now = self.clock()
        cached = self._cache.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as err:
            log.warning(
                "users.info failed (%s): %s is not treated as an admin", error_code(err), user_id
            )
            return False
        user = response.get("user") or {}
        verdict = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        if len(self._cache) > 1000:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
        self._cache[user_id] = (verdict, now + self.ttl)
        return verdict


# ------------------------------------------------------------------------------------------
# Listeners


_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """A mention's text without the bot's own ``<@UBOT>`` (or, unknown, the leading mention)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        text = _LEADING_MENTION.sub(" ", text)
    return " ".join(text.split())


async def _respond(respond: AsyncRespond, **message: Any) -> None:
    """POST to the interaction's response_url; a refusal is logged, not raised."""
    response = await respond(**message)
    if response.status_code != 200:
        log.warning("response_url refused the message (HTTP %d)", response.status_code)


def _private(text: str, *, replace: bool = False) -> dict[str, Any]:
    """A response_url message only the person who clicked sees (never public by accident)."""
    return {"text": text, "response_type": "ephemeral", "replace_original": replace}


class SlackListeners:
    """The Bolt listeners of the maxim bot, with what they share."""

    def __init__(
        self,
        service: ChatService,
        config: SlackConfig,
        client: AsyncWebClient,
        background: Background,
        admins: SlackAdmins,
        ack_deadline: float,
    ) -> None:
        self.service = service
        self.config = config
        self.client = client
        self.background = background
        self.admins = admins
        self.ack_deadline = ack_deadline

    # ---------------------------------------------------------------- /maxim

    async def on_maxim_command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond
    ) -> None:
        """`/maxim ...`: answer in the acknowledgement, or say so and answer a bit later."""
        origin = Origin(
            PLATFORM,
            str(command.get("channel_id", "")),
            str(command.get("user_id", "")),
            str(command.get("team_id", "")),
        )
        text = str(command.get("text") or "")
        name = str(command.get("command") or "/maxim")
        is_admin = functools.partial(self.admins.is_admin, origin.user)
        if not isinstance(parse_query(text, name), DailySet | DailyOff):
            # Only local work (the corpus, one small read): answer in the acknowledgement.
            reply = await self.service.command(origin, text, is_admin, command=name)
            await ack(**self.command_message(reply))
            return
        # A change of the daily post may wait on users.info (the admin check): give it until
        # the deadline, then acknowledge and answer through the response_url.
        work, done = await in_time(
            self.service.command(origin, text, is_admin, command=name), self.ack_deadline
        )
        if done:
            await ack(**self.command_message(work.result()))
            return
        await ack(response_type="ephemeral", text=WORKING)

        async def answer_later() -> None:
            message = self.command_message(await work)
            await _respond(respond, replace_original=False, **message)

        self.background.spawn(answer_later(), "slack /maxim", self._apology_to(respond))

    def command_message(self, reply: Reply) -> Message:
        """The acknowledgement of `/maxim`: a private preview, or a public maxim, or a note."""
        private = is_private(reply, preview=self.config.preview)
        message = render_reply(reply, preview=self.config.preview)
        return {**message, "response_type": "ephemeral" if private else "in_channel"}

    # ---------------------------------------------------------------- preview buttons

    async def on_send(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Send: post the previewed maxim as the bot, "shared by @user", then drop the preview."""
        await ack()
        value, user, channel = _action_values(body)
        self.background.spawn(
            self._send(value, user, channel, respond), "slack Send", self._apology_to(respond)
        )

    async def _send(self, value: str, user: str, channel: str, respond: AsyncRespond) -> None:
        preview = self.service.preview(value)
        if preview is None:
            await _respond(respond, **_private(STALE_PREVIEW, replace=True))
            return
        message = render_shared(preview.maxim, user)
        try:
            await self.client.chat_postMessage(
                channel=channel, unfurl_links=False, unfurl_media=False, **message
            )
        except SlackApiError as err:
            if error_code(err) not in CHANNEL_GONE:
                raise
            # The bot is not a member here (a DM, a channel nobody invited it to): the
            # command's response_url may still post to the channel, at the user's request.
            log.info("Send: %s in %s; posting through the response_url", error_code(err), channel)
            await _respond(respond, response_type="in_channel", replace_original=False, **message)
        log.info("maxim %d shared on %s by %s", preview.maxim.number, PLATFORM, user)
        await _respond(respond, delete_original=True)

    async def on_shuffle(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Shuffle: replace the preview with another maxim (the next search result)."""
        await ack()
        value, _, _ = _action_values(body)
        self.background.spawn(
            self._shuffle(value, respond), "slack Shuffle", self._apology_to(respond)
        )

    async def _shuffle(self, value: str, respond: AsyncRespond) -> None:
        following = self.service.shuffle(value)
        if following is None:
            await _respond(respond, **_private(STALE_PREVIEW, replace=True))
            return
        await _respond(
            respond, response_type="ephemeral", replace_original=True, **render_preview(following)
        )

    async def on_cancel(self, ack: AsyncAck, respond: AsyncRespond) -> None:
        """Cancel: remove the preview."""
        await ack()
        self.background.spawn(
            _respond(respond, delete_original=True), "slack Cancel", self._apology_to(respond)
        )

    def _apology_to(self, respond: AsyncRespond) -> Callable[[str], Awaitable[None]]:
        async def apologise(apology: str) -> None:
            await _respond(respond, **_private(apology))

        return apologise

    # ---------------------------------------------------------------- mentions and messages

    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """``@maxim 42``: the same answer as `/maxim 42`, in the thread."""
        text = strip_mention(str(event.get("text") or ""), context.bot_user_id)
        origin = Origin(
            PLATFORM,
            str(event.get("channel", "")),
            str(event.get("user", "")),
            str(body.get("team_id", "")),
        )
        thread = str(event.get("thread_ts") or event.get("ts") or "")
        self.background.spawn(
            self._answer_mention(origin, text, thread, body.get("event_id")), "slack mention"
        )

    async def _answer_mention(
        self, origin: Origin, text: str, thread: str, event_id: str | None
    ) -> None:
        is_admin = functools.partial(self.admins.is_admin, origin.user)
        reply = await self.service.command(origin, text, is_admin, event_id=event_id)
        if reply is None:
            return  # another delivery of this event was answered
        if not is_private(reply, preview=False):
            await self.client.chat_postMessage(
                channel=origin.channel,
                thread_ts=thread,
                unfurl_links=False,
                **render_reply(reply, preview=False),
            )
            return
        # Help, lists and errors are for the asker alone, as with the slash command.
        await self.client.chat_postEphemeral(
            channel=origin.channel,
            user=origin.user,
            thread_ts=thread,
            **render_reply(reply, preview=False),
        )

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """Any message: the triggers (NaN...) may answer it in its thread."""
        if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id"):
            return  # edits, deletions, joins, other bots
        user = str(event.get("user") or "")
        text = str(event.get("text") or "")
        bot_user = context.bot_user_id or ""
        if not user or user == bot_user or not text:
            return
        if bot_user and f"<@{bot_user}" in text:
            return  # a mention: `on_mention` answers it
        origin = Origin(PLATFORM, str(event.get("channel", "")), user, str(body.get("team_id", "")))
        self.background.spawn(
            self._answer_message(origin, text, event, body.get("event_id")), "slack message"
        )

    async def _answer_message(
        self, origin: Origin, text: str, event: dict[str, Any], event_id: str | None
    ) -> None:
        maxim = await self.service.message(origin, text, event_id=event_id)
        if maxim is None:
            return
        ts = str(event.get("ts") or "")
        await self.client.chat_postMessage(
            channel=origin.channel,
            thread_ts=str(event.get("thread_ts") or ts),
            unfurl_links=False,
            **render_maxim(maxim),
        )
        if self.config.reaction and ts:
            try:
                await self.client.reactions_add(
                    channel=origin.channel, timestamp=ts, name=self.config.reaction.strip(":")
                )
            except SlackApiError as err:
                if error_code(err) != "already_reacted":
                    log.warning("reactions.add failed in %s (%s)", origin.channel, error_code(err))

    # ---------------------------------------------------------------- the error boundary

    async def on_error(self, body: dict[str, Any], respond: AsyncRespond | None) -> BoltResponse:
        """Bolt's error handler: log with a reference, apologise privately, answer 200.

        200 rather than Bolt's 500: Slack would re-deliver an event, and the user would see
        Slack's own "failed with the error" for a command instead of our apology.
        """
        kind = str(body.get("command") or body.get("type") or "request")
        apology = report_failure(log, f"slack {kind}")
        if body.get("command"):
            message = {"response_type": "ephemeral", "text": apology}
            return BoltResponse(
                status=200,
                body=json.dumps(message),
                headers={"content-type": "application/json"},
            )
        if respond is not None and respond.response_url:
            self.background.spawn(_respond(respond, **_private(apology)), "slack apology")
        return BoltResponse(status=200, body="")


def _action_values(body: dict[str, Any]) -> tuple[str, str, str]:
    """(button value, user id, channel id) of a block action."""
    actions = body.get("actions") or [{}]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    return str(actions[0].get("value") or ""), str((body.get("user") or {}).get("id", "")), channel


@contextlib.contextmanager
def _hidden(names: tuple[str, ...]) -> Iterator[None]:
    """Hide environment variables from a library constructor, then put them back."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def build_slack_app(
    service: ChatService,
    config: SlackConfig,
    secrets: Secrets,
    *,
    client: AsyncWebClient | None = None,
    background: Background | None = None,
    admins: SlackAdmins | None = None,
    ack_deadline: float = ACK_DEADLINE,
) -> AsyncApp:
    """A Bolt app answering `/maxim`, its buttons, mentions and messages.

    Args:
        service: the chat service every platform shares.
        config: the ``[slack]`` section.
        secrets: the tokens; nothing is read from the environment.
        client: the Web API client (default: `build_web_client(config, secrets)`).
        background: where slow work runs (tests pass one to wait for it).
        admins: the daily-post admin check (default: ``slack.admins`` plus users.info).
        ack_deadline: seconds a command may take before it is acknowledged with "working".

    """
    client = client or build_web_client(config, secrets)
    secret = secrets.slack_signing_secret
    http_mode = slack_mode(config, secrets) == "http"
    with _hidden(BOLT_ENV):
        app = AsyncApp(
            name="maxim-bot",  # else Bolt inspects the call stack for a name
            logger=logging.getLogger("slack_bolt"),  # quiet unless we debug (bot.log.NOISY)
            client=client,
            signing_secret=secret.get_secret_value() if secret else "",
            request_verification_enabled=http_mode,  # Socket Mode needs no signatures
            process_before_response=True,
        )
    listeners = SlackListeners(
        service,
        config,
        client,
        background or Background("Slack"),
        admins or SlackAdmins(client, config.admins),
        ack_deadline,
    )
    app.command(re.compile(r"^/"))(listeners.on_maxim_command)  # `/maxim`, or a renamed copy
    app.action(ACTION_POST)(listeners.on_send)
    app.action(ACTION_SHUFFLE)(listeners.on_shuffle)
    app.action(ACTION_CANCEL)(listeners.on_cancel)
    app.event("app_mention")(listeners.on_mention)
    app.event("message")(listeners.on_message)
    app.error(listeners.on_error)
    return app


# ------------------------------------------------------------------------------------------
# HTTP mode


def to_bolt_request(body: str, query: str, headers: Mapping[str, str]) -> AsyncBoltRequest:
    """An HTTP request as Bolt sees it, with Bolt's "payload" misreading undone.

    Bolt parses any form body containing the text ``payload`` as an interactivity
    ``payload=`` body, so `/maxim search payload` would reach no listener.
    """
    request = AsyncBoltRequest(body=body, query=query, headers=dict(headers))
    if not request.body and "payload" in body and not body.startswith("{"):
        fields = dict(parse_qsl(body, keep_blank_values=True))
        if "payload" not in fields:
            request.body = fields
            request.context = build_async_context(AsyncBoltContext({}), fields)
    return request


def build_http_app(app: AsyncApp, healthy: Callable[[], bool]) -> web.Application:
    """``POST /slack/events`` for Slack (signed), ``GET /healthz`` for probes."""

    async def on_events(request: web.Request) -> web.Response:
        bolt_request = to_bolt_request(await request.text(), request.query_string, request.headers)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def on_healthz(request: web.Request) -> web.Response:
        ok = healthy()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    web_app = web.Application()
    web_app.router.add_post("/slack/events", on_events)
    web_app.router.add_get("/healthz", on_healthz)
    return web_app


# ------------------------------------------------------------------------------------------
# Start-up


async def check_bot_token(client: AsyncWebClient, api_url: str) -> Mapping[str, Any]:
    """``auth.test``, with a one-line `StartupError` for every way it fails."""
    try:
        response = await client.auth_test()
    except SlackApiError as err:
        code = error_code(err)
        hint = BOT_TOKEN_PROBLEMS.get(
            code, f"Slack auth.test failed ({code}): check SLACK_BOT_TOKEN"
        )
        raise StartupError(f"Slack: {hint}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        raise StartupError(_unreachable(api_url, err)) from None
    return dict(response.data) if isinstance(response.data, dict) else {}


async def open_socket_url(client: AsyncWebClient, app_token: str, api_url: str) -> str:
    """A Socket Mode websocket URL (``apps.connections.open``), or a one-line `StartupError`."""
    try:
        response = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as err:
        code = error_code(err)
        hint = APP_TOKEN_PROBLEMS.get(
            code, f"apps.connections.open failed ({code}): check SLACK_APP_TOKEN"
        )
        raise StartupError(f"Slack: {hint}") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        raise StartupError(_unreachable(api_url, err)) from None
    return str(response["url"])


def _unreachable(api_url: str, err: BaseException) -> str:
    return (
        f"Slack: cannot reach the Web API at {api_url} ({type(err).__name__}): check "
        "slack.api_url (env SLACK_API_URL), the network, and HTTPS_PROXY if you use one"
    )


class SlackPlatform:
    """Slack as a `Platform` of the runner: Socket Mode or the HTTP server."""

    name = PLATFORM

    def __init__(
        self,
        service: ChatService,
        config: SlackConfig,
        secrets: Secrets,
        *,
        healthy: HealthCheck = no_scheduler,
        client: AsyncWebClient | None = None,
        background: Background | None = None,
    ) -> None:
        self.service = service
        self.config = config
        self.secrets = secrets
        self._healthy = healthy
        self.mode = slack_mode(config, secrets)
        self.client = client or build_web_client(config, secrets)
        self.background = background or Background("Slack")
        self.poster = SlackPoster(self.client)
        self.app: AsyncApp | None = None
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._serving = False

    def healthy(self) -> bool:
        """HTTP mode: serving, and the rest of the bot (the scheduler) is healthy."""
        return self._serving and self._healthy()

    async def connected(self) -> bool:
        """Whether Slack can reach us now (the Socket Mode websocket is up, or we serve)."""
        if self._socket is not None:
            return bool(await self._socket.client.is_connected())
        return self._serving

    async def start(self) -> None:
        """Check the tokens, then open the websocket or start the HTTP server."""
        secrets = self.secrets
        api_url = self.config.api_url
        if self.mode == "http" and secrets.slack_signing_secret is None:
            raise StartupError(
                "Slack: HTTP mode needs SLACK_SIGNING_SECRET (Basic Information > App Credentials"
                " > Signing Secret), or set SLACK_APP_TOKEN to use Socket Mode"
            )
        if self.mode == "socket" and secrets.slack_app_token is None:
            raise StartupError(
                "Slack: Socket Mode needs SLACK_APP_TOKEN (an xapp- app-level token with "
                'connections:write), or set slack.mode = "http" with SLACK_SIGNING_SECRET'
            )
        identity = await check_bot_token(self.client, api_url)
        self.app = build_slack_app(
            self.service, self.config, self.secrets, client=self.client, background=self.background
        )
        if secrets.slack_app_token is not None and self.mode == "socket":
            await self._start_socket(self.app, secrets.slack_app_token.get_secret_value())
        else:
            await self._start_http(self.app)
        log.info(
            "Slack: signed in to %s as %s (%s)",
            identity.get("team", "?"),
            identity.get("user", "?"),
            "Socket Mode" if self.mode == "socket" else "HTTP mode",
        )

    async def _start_http(self, app: AsyncApp) -> None:
        host, port = self.config.http_host, self.config.http_port
        runner = web.AppRunner(
            build_http_app(app, self.healthy),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=STOP_TIMEOUT,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as err:
            await runner.cleanup()
            raise StartupError(
                f"Slack: cannot listen on {host}:{port} ({err.strerror or err}): "
                "change slack.http_host / slack.http_port"
            ) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._serving = True
        log.info(
            "Slack HTTP mode: listening on http://%s:%d/slack/events (health: /healthz)",
            host,
            self.port,
        )

    async def _start_socket(self, app: AsyncApp, app_token: str) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        # Ask for the URL ourselves: the SDK retries a bad app token forever, quietly.
        url = await open_socket_url(self.client, app_token, self.config.api_url)
        handler = AsyncSocketModeHandler(app, app_token, web_client=self.client)
        handler.client.wss_uri = url
        self._socket = handler
        await handler.connect_async()

    async def wait(self) -> None:
        """Slack never ends by itself: wait until the runner stops us."""
        await asyncio.get_running_loop().create_future()

    async def stop(self) -> None:
        """Stop taking requests, let work under way finish, then let go of everything."""
        self._serving = False
        if self._socket is not None:
            await self._socket.close_async()
            self._socket = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.background.close()
