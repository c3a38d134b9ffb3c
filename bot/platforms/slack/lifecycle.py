"""Slack as a `Platform` of the runner: sign-in checks, then Socket Mode or the HTTP server.

Start-up checks the tokens itself (``auth.test``, ``apps.connections.open``) so that every way
they can be wrong ends the bot with one line naming the variable to fix.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import Background
from bot.chat import ChatService
from bot.config import ServerConfig, slack_mode
from bot.listen import listen
from bot.platforms import HealthCheck, StartupError, no_scheduler
from bot.platforms.slack.app import build_slack_app
from bot.platforms.slack.compat import use_socket_url
from bot.platforms.slack.installs import DailyPostClients, SlackInstalls
from bot.platforms.slack.links import public_pages
from bot.platforms.slack.poster import SlackPoster
from bot.platforms.slack.server import build_http_app
from bot.platforms.slack.web import PLATFORM, build_web_client, error_code, open_session

if TYPE_CHECKING:
    from pydantic import SecretStr
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from bot.config import Secrets, SlackConfig

log = logging.getLogger(__name__)

STOP_TIMEOUT = 5.0
SIGNATURE_PLATFORM = "slack-signature"  # the storage namespace of seen request signatures
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


def _required(secret: SecretStr | None) -> str:
    """A secret that validated settings always have in this mode (`bot.config.checks`)."""
    if secret is None:
        raise StartupError("Slack: settings not validated: run maxim-bot check-config")
    return secret.get_secret_value()


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
        installs: SlackInstalls | None = None,
        limits: ServerConfig | None = None,
        public_url: str | None = None,
    ) -> None:
        """`public_url`: ``web.public_url``, where cards are shown from and maxims link to."""
        self.service = service
        self.pages = public_pages(public_url)
        self.limits = limits or ServerConfig()  # the HTTP server's connection cap and timeouts
        self.installs = installs
        self.config = config
        self.secrets = secrets
        self._healthy = healthy
        self.mode = slack_mode(config, secrets)
        self.client = client or build_web_client(config, secrets)
        self.background = background or Background("Slack")
        self.poster = SlackPoster(
            self.client,
            clients=DailyPostClients(installs, service.storage) if installs is not None else None,
            cards=service.cards,
        )
        self.app: AsyncApp | None = None
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._serving = False
        self._session: aiohttp.ClientSession | None = None

    def healthy(self) -> bool:
        """HTTP mode: serving, and the rest of the bot (the scheduler) is healthy."""
        return self._serving and self._healthy()

    async def connected(self) -> bool:
        """Whether Slack can reach us now (the Socket Mode websocket is up, or we serve)."""
        if self._socket is not None:
            return bool(await self._socket.client.is_connected())
        return self._serving

    async def ready(self) -> bool:
        """Signed in, and the Socket Mode websocket is up or the HTTP server serves."""
        return self.app is not None and await self.connected()

    async def start(self) -> None:
        """Check the tokens, then open the websocket or start the HTTP server.

        The settings were validated (`bot.config.checks`): the mode has the secret it needs.
        Every Web API client of the platform (ours, Bolt's per-request copies of it, each
        installation's) shares one pool of keep-alive connections from here on.
        """
        self._session = open_session(self.client.timeout)
        self.client.session = self._session
        if self.installs is not None:
            self.installs.session = self._session
        if self.installs is None:
            identity = await check_bot_token(self.client, self.config.api_url)
        else:  # many workspaces: no token of our own, each installation brings one
            await self.installs.check_stored_tokens()
            identity = {"team": "every workspace that installs it", "user": "the app"}
        self.app = build_slack_app(
            self.service,
            self.config,
            self.secrets,
            client=self.client,
            background=self.background,
            installs=self.installs,
            pages=self.pages,
        )
        if self.mode == "socket":
            await self._start_socket(self.app, _required(self.secrets.slack_app_token))
        else:
            await self._start_http(self.app, _required(self.secrets.slack_signing_secret))
        log.info(
            "Slack: signed in to %s as %s (%s)",
            identity.get("team", "?"),
            identity.get("user", "?"),
            "Socket Mode" if self.mode == "socket" else "HTTP mode",
        )

    async def first_seen(self, key: str) -> bool:
        """Whether a request signature is new, across every process sharing the storage."""
        return await self.service.first_request(SIGNATURE_PLATFORM, key)

    async def _start_http(self, app: AsyncApp, signing_secret: str) -> None:
        host, port = self.config.http_host, self.config.http_port
        try:
            self._runner, self.port = await listen(
                build_http_app(
                    app,
                    self.healthy,
                    signing_secret=signing_secret,
                    first_seen=self.first_seen,
                ),
                host,
                port,
                name="Slack HTTP",
                keys="slack.http_host / slack.http_port",
                shutdown_timeout=STOP_TIMEOUT,
                limits=self.limits,
                logger=logging.getLogger("bot.platforms.slack.server"),
            )
        except OSError as err:
            raise StartupError(f"Slack: {err}") from None
        self._serving = True
        log.info(
            "Slack HTTP mode: listening on http://%s:%d/slack/events (health: /healthz)",
            host,
            self.port,
        )
        if self.installs is not None:
            log.info(
                "Slack OAuth: people add the app to their workspace at http://%s:%d/slack/install"
                " (through your public URL)",
                host,
                self.port,
            )

    async def _start_socket(self, app: AsyncApp, app_token: str) -> None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        # Ask for the URL ourselves: the SDK retries a bad app token forever, quietly.
        url = await open_socket_url(self.client, app_token, self.config.api_url)
        handler = AsyncSocketModeHandler(app, app_token, web_client=self.client)
        use_socket_url(handler, url)
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
        if self._session is not None:
            await self._session.close()  # a call after this opens a session of its own
            self._session = None
