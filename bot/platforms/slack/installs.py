"""Slack for many workspaces (OAuth): installations, per-workspace tokens, uninstalls.

When ``SLACK_CLIENT_ID`` and ``SLACK_CLIENT_SECRET`` are set, anyone may add the app to their
workspace through ``/slack/install``; Bolt's OAuth flow (with the safer pages of
`bot.platforms.slack.oauth_pages`, and signed states that cost no row until they come back,
`bot.storage.SqlOAuthStateStore`) exchanges the code (``oauth.v2.access`` at `slack.api_url`)
and saves the installation in the bot's own database
(`bot.storage.SqlInstallationStore`, which also refreshes rotating tokens, once across
processes). Each request is then authorised with its workspace's bot token by
`WorkspaceAuthorize`, and each daily post by `DailyPostClients`.

Cooldowns and event de-duplication are keyed by workspace and channel (`bot.chat.Origin`); a
daily post stays keyed by its channel (Slack channel ids are unique across workspaces) and
records the workspace whose token posts it and whose uninstall removes it.

Enterprise Grid: an org-wide installation is stored with the org's id and no team, and serves
every workspace of the org it was granted. A request from one of them says so
(``is_enterprise_install``), and `WorkspaceAuthorize` finds the org's bot. A daily post records
the org it was set in (`Subscription.enterprise`): it goes out with its workspace's own
installation when there is one, else with the org's. The org's uninstall removes the daily
posts of every workspace it covered, except those with an installation of their own; so does
``team_access_revoked`` for the workspaces an org admin takes out of the org-wide installation.
"""

from __future__ import annotations

import logging
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from slack_bolt.async_app import AsyncBoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.chat import ChatService
from bot.platforms import StartupError
from bot.platforms.slack.oauth_pages import InstallFlow, LaxStateCookie
from bot.platforms.slack.web import PLATFORM, error_code, web_client
from bot.storage import Storage
from bot.storage.slack.installations import SqlInstallationStore
from bot.storage.slack.oauth_states import SqlOAuthStateStore, state_key
from bot.storage.slack.sealed_tokens import check_stored_tokens
from bot.storage.token_cipher import StorageKeyError, TokenCipher

log = logging.getLogger(__name__)

# What the bot asks each workspace for: the manifest's bot scopes (a test keeps them equal).
BOT_SCOPES: Final = (
    "app_mentions:read",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "mpim:history",
    "reactions:write",
    "users:read",
)
NOT_INSTALLED: Final = "maxim_not_installed"  # context flag: no installation for this request


def authorization_url(api_url: str) -> str:
    """Slack's "Add to Slack" page beside `api_url` (``https://slack.com/oauth/v2/authorize``).

    Derived rather than fixed, so GovSlack (``slack-gov.com``) and the tests' emulator work.
    """
    parts = urlsplit(api_url)
    return urlunsplit((parts.scheme, parts.netloc, "/oauth/v2/authorize", "", ""))


async def check_oauth_credentials(
    client: AsyncWebClient, client_id: str, client_secret: str, api_url: str
) -> None:
    """Whether Slack accepts the app's client id and secret, or a one-line `StartupError`.

    Exchanging a made-up code fails either way; *how* it fails tells: ``invalid_code`` means
    the id and secret passed.
    """
    try:
        await client.oauth_v2_access(
            client_id=client_id, client_secret=client_secret, code="maxim-bot-check-config"
        )
    except SlackApiError as err:
        code = error_code(err)
        if code == "invalid_code":
            return
        raise StartupError(
            f"Slack: SLACK_CLIENT_ID / SLACK_CLIENT_SECRET were refused ({code}): copy both "
            "from the app's Basic Information page"
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        raise StartupError(
            f"Slack: cannot reach the Web API at {api_url} ({type(err).__name__})"
        ) from None


class SlackInstalls:
    """The app's OAuth credentials and the stores of its installations and OAuth states.

    Args:
        engine: the bot's database (schema at head).
        client_id: ``SLACK_CLIENT_ID``.
        client_secret: ``SLACK_CLIENT_SECRET``.
        api_url: ``slack.api_url``: the code exchange, refreshes and every call go there.
        cipher: encrypts the stored tokens (``MAXIM_STORAGE_KEY``); none: plain text.

    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        client_id: str,
        client_secret: str,
        api_url: str,
        cipher: TokenCipher | None = None,
    ) -> None:
        self.client_id = client_id
        self.api_url = api_url
        self.session: aiohttp.ClientSession | None = None  # the platform's, once it starts
        rotator = AsyncTokenRotator(
            client_id=client_id, client_secret=client_secret, client=web_client(api_url, None)
        )
        self.store = SqlInstallationStore(
            engine, client_id=client_id, rotator=rotator, cipher=cipher
        )
        self.states = SqlOAuthStateStore(engine, key=state_key(client_secret))
        self._client_secret = client_secret

    async def check_stored_tokens(self) -> None:
        """Read every stored token once: a missing or wrong key stops the start, one line.

        Plain-text tokens with a key set are readable; one WARNING says how to encrypt them.
        """
        cipher = self.store.cipher
        try:
            count = await check_stored_tokens(self.store.engine, cipher)
        except StorageKeyError as err:
            raise StartupError(f"Slack: {err}") from None
        if cipher.encrypts and count.plain:
            log.warning(
                "Slack: %d stored token value(s) are not encrypted yet: run "
                "`maxim-bot migrate --rotate-key`",
                count.plain,
            )

    def oauth_flow(self, redirect_uri: str | None) -> InstallFlow:
        """Bolt's OAuth flow at ``/slack/install`` and ``/slack/oauth_redirect``.

        Bolt's own flow, with the safer pages, URL and cookie of `bot.platforms.slack.oauth_pages`;
        ``/slack/install`` redirects straight to Slack (no "Add to Slack" page of its own).
        """
        oauth_log = logging.getLogger("slack_bolt.oauth")
        settings = AsyncOAuthSettings(
            client_id=self.client_id,
            client_secret=self._client_secret,
            scopes=list(BOT_SCOPES),
            redirect_uri=redirect_uri,
            authorization_url=authorization_url(self.api_url),
            installation_store=self.store,
            state_store=self.states,
            # The store refreshes tokens (once across processes); Bolt must never do it too.
            token_rotation_expiration_minutes=0,
            state_expiration_seconds=self.states.expiration_seconds,
            logger=oauth_log,
            install_page_rendering_enabled=False,
        )
        # Read by the flow when it is built, for the cookie it sets and the one it deletes.
        settings.state_utils = LaxStateCookie(
            cookie_name=settings.state_cookie_name,
            expiration_seconds=settings.state_expiration_seconds,
        )
        return InstallFlow(settings=settings, logger=oauth_log)

    async def client_for(self, workspace: str, enterprise: str = "") -> AsyncWebClient | None:
        """A Web API client with the bot token that serves `workspace`, or None if none does.

        The workspace's own installation (in whatever Grid org), else the org-wide one of
        `enterprise` (the Grid org the workspace belongs to, when known).
        """
        bot = await self.store.async_find_team_bot(workspace)
        if bot is None and enterprise:
            bot = await self.store.async_find_bot(
                enterprise_id=enterprise, team_id=None, is_enterprise_install=True
            )
        if bot is None or not bot.bot_token:
            return None
        return web_client(self.api_url, bot.bot_token, self.session)

    async def forget(self, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete a workspace's installation and bot (uninstalled, or its tokens revoked)."""
        await self.store.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)


class DailyPostClients:
    """The client a channel's daily post goes out with (the poster's `ClientFor`).

    Its workspace's own installation when there is one (one read, as before Grid); only
    without one is the subscription read for its Grid org, whose org-wide installation then
    posts. A channel of a workspace no installation serves gets None: `ChannelUnavailable`.
    """

    def __init__(self, installs: SlackInstalls, storage: Storage) -> None:
        self.installs = installs
        self.storage = storage

    async def __call__(self, workspace: str, channel: str) -> AsyncWebClient | None:
        """The client for `channel`'s daily post in `workspace`, or None."""
        client = await self.installs.client_for(workspace)
        if client is not None:
            return client
        sub = await self.storage.get_subscription(PLATFORM, channel)
        if sub is None or not sub.enterprise or sub.workspace != workspace:
            return None
        return await self.installs.client_for(workspace, sub.enterprise)


class WorkspaceAuthorize(AsyncAuthorize):
    """Each request gets its workspace's bot token from the store: one read, no Web API call.

    Bolt's own installation-store authorize calls ``auth.test`` on every request; the stored
    bot already says who it is. A workspace with no installation is flagged (`NOT_INSTALLED`)
    rather than refused here: Bolt would answer it with an error message and log an error,
    where `ignore_uninstalled` quietly answers nothing.
    """

    def __init__(self, installs: SlackInstalls) -> None:
        self.installs = installs

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        """The stored bot of the request's workspace, or a flagged empty result."""
        bot = await self.installs.store.async_find_bot(
            enterprise_id=enterprise_id,
            team_id=team_id,
            is_enterprise_install=bool(context.is_enterprise_install),
        )
        if bot is None or not bot.bot_token:
            context[NOT_INSTALLED] = True
            return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, user_id=user_id)
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_user_id=bot.bot_user_id,
            bot_id=bot.bot_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )


async def ignore_uninstalled(context: AsyncBoltContext, next: Any) -> BoltResponse | None:
    """Global middleware: a request from a workspace without an installation gets nothing."""
    if context.get(NOT_INSTALLED):
        log.info(
            "Slack: ignored a request from %s, where the app is not installed", context.team_id
        )
        return BoltResponse(status=200, body="")
    await next()
    return None


TEAM_ACCESS_REVOKED: Final = "team_access_revoked"


class Uninstalls:
    """``app_uninstalled`` and ``tokens_revoked``: forget the installation and its daily posts.

    A workspace's: its installation and the daily posts of that workspace. An Enterprise Grid
    org-wide installation's (``is_enterprise_install``, read by Bolt from the event's
    authorizations): the org's installation, and the daily posts set in the org, except in
    workspaces that have an installation of their own (those post with it).
    ``team_access_revoked``: some workspaces were taken out of the org-wide installation;
    their daily posts set under the org go, with the same exception. It is the one event
    also handled with a single token (`installs` None), which is org-wide if it gets it.
    """

    def __init__(self, installs: SlackInstalls | None, service: ChatService) -> None:
        self.installs = installs
        self.service = service

    async def on_app_uninstalled(self, body: dict[str, Any], context: AsyncBoltContext) -> None:
        """The app was removed from a workspace (or org): its installation and posts go."""
        await self._forget(body, context, "uninstalled")

    async def on_tokens_revoked(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """The bot's tokens were revoked (user tokens alone change nothing: none are used)."""
        if (event.get("tokens") or {}).get("bot"):
            await self._forget(body, context, "bot token revoked")

    async def on_team_access_revoked(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """Workspaces were taken out of the org-wide installation: their daily posts go.

        Bolt skips authorising this event (the org's token no longer reaches them).
        ``team_access_granted`` needs nothing: the new workspaces' admins set
        ``/maxim daily`` there when they want a daily post.
        """
        teams = {str(team) for team in event.get("team_ids") or () if team}
        enterprise = str(context.enterprise_id or body.get("enterprise_id") or "")
        event_id = str(body.get("event_id") or "")
        if not enterprise or not teams:
            log.info("Slack: a team_access_revoked without an org or workspaces; nothing to do")
            return
        if event_id and not await self.service.first_request(PLATFORM, f"{enterprise}:{event_id}"):
            log.info(
                "Slack: team access revoked in %s already handled (event %s)", enterprise, event_id
            )
            return
        keep: set[str] = set()
        if self.installs is not None:
            keep = await self.installs.store.async_installed_teams(enterprise) & teams
        dropped = await self.service.storage.delete_enterprise_subscriptions(
            PLATFORM, enterprise, keep=keep, workspaces=teams
        )
        log.info(
            "Slack: %d workspace(s) of %s taken out of its org-wide installation: dropped %d "
            "daily post(s) in %d workspace(s) (%d keep theirs: installed on their own)",
            len(teams),
            enterprise,
            dropped,
            len(teams - keep),
            len(keep),
        )

    async def _forget(self, body: dict[str, Any], context: AsyncBoltContext, why: str) -> None:
        enterprise = str(context.enterprise_id or body.get("enterprise_id") or "")
        org_wide = bool(context.is_enterprise_install) and bool(enterprise)
        team = "" if org_wide else str(body.get("team_id") or "")
        whose, event_id = team or enterprise, str(body.get("event_id") or "")
        # Once per event id across processes: a retry, or a captured delivery replayed to
        # another process after the workspace installed the app again, changes nothing.
        if event_id and not await self.service.first_request(PLATFORM, f"{whose}:{event_id}"):
            log.info("Slack: %s for %s already handled (event %s)", why, whose, event_id)
            return
        storage = self.service.storage
        assert self.installs is not None  # noqa: S101 - registered in OAuth mode only
        await self.installs.forget(enterprise or None, team or None)
        if org_wide:
            keep = await self.installs.store.async_installed_teams(enterprise)
            dropped = await storage.delete_enterprise_subscriptions(PLATFORM, enterprise, keep=keep)
            log.info(
                "Slack: forgot the org-wide installation of %s (%s) and %d daily post(s) in its "
                "workspaces (%d workspace(s) keep theirs: installed on their own)",
                enterprise,
                why,
                dropped,
                len(keep),
            )
            return
        dropped = await storage.delete_workspace_subscriptions(PLATFORM, team) if team else 0
        log.info("Slack: forgot workspace %s (%s) and its %d daily post(s)", whose, why, dropped)
