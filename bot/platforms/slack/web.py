"""The Slack Web API client the bot uses, and what its errors mean to the bot.

One builder so the platform, the poster and the tests talk to Slack the same way (the
configured `slack.api_url`, the bot token, slack_sdk's retry handlers), and one translation of
Slack's error codes into the poster's error family.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.poster import ChannelUnavailable, PostError, RateLimited

if TYPE_CHECKING:
    from bot.config import Secrets, SlackConfig

PLATFORM = "slack"
# With Slack OAuth the app holds one bot token per workspace (or Grid org): this gives the
# client carrying the token that serves a (workspace, channel), or None where none does.
ClientFor: TypeAlias = Callable[[str, str], Awaitable[AsyncWebClient | None]]
# Errors that mean the bot cannot post in this channel at all: retrying will not help.
CHANNEL_GONE = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "channel_is_archived"}
)
RESPONSE_URL_HOST = "hooks.slack.com"  # where Slack's response_urls point
_DEFAULT_PORTS = {"https": 443, "http": 80}


def build_web_client(config: SlackConfig, secrets: Secrets) -> AsyncWebClient:
    """The Web API client of `slack.api_url` with the bot token (None in OAuth mode)."""
    token = secrets.slack_bot_token
    return web_client(config.api_url, token.get_secret_value() if token else None)


def web_client(
    api_url: str, token: str | None, session: aiohttp.ClientSession | None = None
) -> AsyncWebClient:
    """A Web API client of `api_url` with `token`, and slack_sdk's retry handlers.

    Rate limits are retried once after Slack's Retry-After (then the caller decides: the
    scheduler waits and tries again), server errors and dropped connections twice. `session`:
    the process's shared connections (`open_session`); without one, slack_sdk opens a new
    session, and so a new connection, for every call.
    """
    return AsyncWebClient(
        token=token,
        base_url=api_url,
        session=session,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=1),
            AsyncServerErrorRetryHandler(max_retry_count=2),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


def open_session(timeout: float) -> aiohttp.ClientSession:
    """One pool of keep-alive connections for every Web API client of this process.

    slack_sdk opens (and closes) an aiohttp session for each call of a client that has none:
    a new TCP and TLS handshake per message, which at a busy minute (thousands of daily posts
    in many workspaces, each with its own token) costs more than the post itself. Tokens
    travel in each request's header, so one session serves every workspace. At most 100
    connections at once (aiohttp's default), calls beyond wait for one. `timeout`: each
    call's total, as slack_sdk gives a session of its own.
    """
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout))


def without_rate_limit_retry(client: AsyncWebClient) -> AsyncWebClient:
    """A copy of `client` that lets every HTTP 429 through to the caller.

    slack_sdk's `AsyncRateLimitErrorRetryHandler` sleeps out a 429 silently; a caller that
    waits out a limit itself must see each one: the duplicate check (a minute per
    ``conversations.history`` call for apps outside the Slack Marketplace), to say so in the
    log and keep to its own budget, and the daily post, whose wait pauses only its workspace
    (`bot.daily.pacing`). The copy keeps everything else (token, base URL, session, the other
    retry handlers); it is a shallow copy, cheap enough to make for each call.
    """
    found = copy.copy(client)
    found.retry_handlers = [
        handler
        for handler in client.retry_handlers
        if not isinstance(handler, AsyncRateLimitErrorRetryHandler)
    ]
    return found


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


def refused_here(err: SlackApiError) -> bool:
    """Whether Slack refused a post because of the channel or the rate limit, not its content.

    Not a member, the channel gone or archived, posting restricted to admins, or a rate limit
    that outlasted slack_sdk's retry: what Discord says with Forbidden, NotFound and 429.
    """
    if error_code(err) == "restricted_action":
        return True
    return isinstance(post_error(err), ChannelUnavailable | RateLimited)


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of `url`, or None when it has no usable host."""
    try:
        parts = urlsplit(url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname or port is None:
        return None
    return parts.scheme, parts.hostname.lower(), port


def is_slack_url(url: str, api_url: str) -> bool:
    """Whether `url` is one of Slack's: ``https://hooks.slack.com``, or `slack.api_url`'s host.

    A response_url comes inside the request body; posting to whatever it names would let a
    forged or misrouted request make the bot call internal addresses.
    """
    origin = _origin(url)
    return origin is not None and origin in {("https", RESPONSE_URL_HOST, 443), _origin(api_url)}
