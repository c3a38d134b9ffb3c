"""The Bolt app of the maxim bot: its listeners (`bot.platforms.slack.listeners`) registered.

Secrets and URLs come from `Settings` only: Bolt's constructor reads ``SLACK_*`` variables on its
own (and switches to multi-workspace OAuth if it finds ``SLACK_CLIENT_ID``), so they are hidden
from it while it is built; OAuth is switched on explicitly, with `SlackInstalls`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import Background
from bot.chat import ACK_DEADLINE, ChatService
from bot.platforms.slack.admins import SlackAdmins
from bot.platforms.slack.installs import (
    TEAM_ACCESS_REVOKED,
    SlackInstalls,
    Uninstalls,
    WorkspaceAuthorize,
    ignore_uninstalled,
)
from bot.platforms.slack.links import PublicPages
from bot.platforms.slack.listeners import SlackListeners
from bot.platforms.slack.render import ACTION_HOME_SHUFFLE
from bot.platforms.slack.web import build_web_client
from bot.preview import ACTION_CANCEL, ACTION_POST, ACTION_SHUFFLE

if TYPE_CHECKING:
    from bot.config import Secrets, SlackConfig

# Variables Bolt's constructor would read by itself.
BOLT_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_VERIFICATION_TOKEN",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)


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
    installs: SlackInstalls | None = None,
    pages: PublicPages | None = None,
) -> AsyncApp:
    """A Bolt app answering `/maxim`, its buttons, mentions, messages and the App Home.

    Args:
        service: the chat service every platform shares.
        config: the ``[slack]`` section.
        secrets: the tokens; nothing is read from the environment.
        client: the Web API client (default: `build_web_client(config, secrets)`).
        background: where slow work runs (tests pass one to wait for it).
        admins: the daily-post admin check (default: ``slack.admins`` plus users.info); its
            users.info cache is the Home tab's too.
        ack_deadline: seconds a command may take before it is acknowledged with "working".
        installs: OAuth's installations (many workspaces); None for one workspace's token.
        pages: the public pages (``web.public_url``): cards as image blocks, maxims linked;
            None: cards are uploaded and nothing links to a page.

    """
    client = client or build_web_client(config, secrets)
    secret = secrets.slack_signing_secret
    oauth: dict[str, Any] = {}
    if installs is not None:
        oauth = {
            "oauth_flow": installs.oauth_flow(config.redirect_uri),
            "installation_store": installs.store,
            "authorize": WorkspaceAuthorize(installs),
        }
    with _hidden(BOLT_ENV):
        app = AsyncApp(
            name="maxim-bot",  # else Bolt inspects the call stack for a name
            logger=logging.getLogger("slack_bolt"),  # quiet unless we debug (bot.log.NOISY)
            client=client,
            signing_secret=secret.get_secret_value() if secret else "",
            # HTTP mode: the server checks each signature on the raw bytes before Bolt runs
            # (bot.platforms.slack.server); Socket Mode needs none.
            request_verification_enabled=False,
            process_before_response=True,
            **oauth,
        )
    listeners = SlackListeners(
        service,
        config,
        background or Background("Slack"),
        admins or SlackAdmins(config.admins),
        ack_deadline,
        oauth=installs is not None,
        pages=pages,
    )
    uninstalls = Uninstalls(installs, service)
    app.event(TEAM_ACCESS_REVOKED)(uninstalls.on_team_access_revoked)
    if installs is not None:
        app.use(ignore_uninstalled)
        app.event("app_uninstalled")(uninstalls.on_app_uninstalled)
        app.event("tokens_revoked")(uninstalls.on_tokens_revoked)
    app.command(re.compile(r"^/"))(listeners.on_maxim_command)  # `/maxim`, or a renamed copy
    app.action(ACTION_POST)(listeners.on_send)
    app.action(ACTION_SHUFFLE)(listeners.on_shuffle)
    app.action(ACTION_CANCEL)(listeners.on_cancel)
    app.event("app_mention")(listeners.on_mention)
    app.event("message")(listeners.on_message)
    app.event("app_home_opened")(listeners.home.on_home_opened)
    app.action(ACTION_HOME_SHUFFLE)(listeners.home.on_shuffle)
    app.error(listeners.on_error)
    return app
