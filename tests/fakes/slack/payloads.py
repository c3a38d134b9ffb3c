"""Requests as Slack sends them to the bot: signed HTTP bodies and Socket Mode payloads.

Slash commands, block actions, Events API callbacks and the URL verification handshake, with
the fields Slack really sends, so tests drive Bolt with what production sees. `sign` computes
Slack's v0 signature over the raw body.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import urlencode

from slack_bolt.request.async_request import AsyncBoltRequest

DEFAULT_TEAM_ID = "T1"
DEFAULT_TEAM_DOMAIN = "maxim-test"
DEFAULT_BOT_USER_ID = "UBOT"
DEFAULT_APP_ID = "A1"
#: A loopback URL nothing listens on: a response_url that fails fast instead of leaving the host.
UNROUTABLE_RESPONSE_URL = "http://127.0.0.1:9/response/unset"
DEFAULT_TRIGGER_ID = "1700000000.1.fake-trigger"


# --------------------------------------------------------------------------------------------
# Signed requests for bolt's HTTP mode
# --------------------------------------------------------------------------------------------


def sign(signing_secret: str, body: str | bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for ``body`` (HMAC-SHA256 of ``v0:ts:body``).

    ``timestamp`` defaults to now; bolt rejects timestamps more than 5 minutes off. A ``bytes``
    body is signed as sent (Slack signs the raw bytes, whatever they are).
    """
    ts = int(time.time()) if timestamp is None else int(timestamp)
    raw = body if isinstance(body, bytes) else body.encode()
    base = f"v0:{ts}:".encode() + raw
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


class SlackRequestBody(NamedTuple):
    """A raw request body as Slack would POST it, with its content type."""

    body: str
    content_type: str

    def headers(self, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
        """Content-Type plus the signature headers for this body."""
        return {"Content-Type": self.content_type, **sign(signing_secret, self.body, timestamp)}

    def bolt_request(self, signing_secret: str, timestamp: int | None = None) -> AsyncBoltRequest:
        """A signed HTTP-mode ``AsyncBoltRequest`` for ``app.async_dispatch(...)``."""
        return AsyncBoltRequest(
            body=self.body, headers=dict(self.headers(signing_secret, timestamp))
        )


def slash_command_payload(
    text: str,
    command: str = "/maxim",
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = DEFAULT_TEAM_ID,
    response_url: str = UNROUTABLE_RESPONSE_URL,
    trigger_id: str = DEFAULT_TRIGGER_ID,
    *,
    api_app_id: str = DEFAULT_APP_ID,
    user_name: str | None = None,
    channel_name: str = "general",
    enterprise_id: str = "",
    team_domain: str = DEFAULT_TEAM_DOMAIN,
    enterprise_install: bool = False,
) -> dict[str, str]:
    """The fields of a slash command, as Slack sends them (Socket Mode payload; all str).

    ``enterprise_id`` set makes it a command from an Enterprise Grid workspace; ``team_id``
    and ``team_domain`` pick the workspace it comes from (the emulator serves several).
    ``enterprise_install``: the app serves it through its org-wide installation.
    """
    grid = {"enterprise_id": enterprise_id, "enterprise_name": "Grid"} if enterprise_id else {}
    return {
        **grid,
        "token": "verification-token",
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "true" if enterprise_install else "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def slash_command_body(
    text: str,
    command: str = "/maxim",
    user_id: str = "U1",
    channel_id: str = "C1",
    team_id: str = DEFAULT_TEAM_ID,
    response_url: str = UNROUTABLE_RESPONSE_URL,
    trigger_id: str = DEFAULT_TRIGGER_ID,
    **kwargs: Any,
) -> SlackRequestBody:
    """A form-encoded slash command body for bolt's HTTP mode.

    Beware: bolt parses any form body that contains the substring ``payload`` as an
    interactivity ``payload=`` body, so a command whose text (or any field) contains the
    word "payload" reaches no listener in HTTP mode (bolt 1.30). The bot's HTTP server reads
    bodies itself (``bot.platforms.slack.server.read_body``); ``bolt_request()`` here does not.
    """
    fields = slash_command_payload(
        text, command, user_id, channel_id, team_id, response_url, trigger_id, **kwargs
    )
    return SlackRequestBody(urlencode(fields), "application/x-www-form-urlencoded")


def block_actions_payload(
    action_id: str,
    value: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    response_url: str = UNROUTABLE_RESPONSE_URL,
    *,
    block_id: str = "b1",
    message_ts: str = "1700000000.000100",
    message: dict[str, Any] | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    trigger_id: str = DEFAULT_TRIGGER_ID,
    action_type: str = "button",
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    team_domain: str = DEFAULT_TEAM_DOMAIN,
) -> dict[str, Any]:
    """A ``block_actions`` interaction (button click on a bot message), as a dict."""
    shown = message or {
        "type": "message",
        "user": bot_user_id,
        "ts": message_ts,
        "text": "",
        "blocks": [],
    }
    return {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": api_app_id,
        "token": "verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": "general"},
        "message": shown,
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": value, "emoji": True},
                "value": value,
                "type": action_type,
                "action_ts": f"{int(time.time())}.000001",
            }
        ],
    }


def block_actions_body(
    action_id: str,
    value: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    response_url: str = UNROUTABLE_RESPONSE_URL,
    **kwargs: Any,
) -> SlackRequestBody:
    """A form-encoded ``payload=<json>`` block_actions body for bolt's HTTP mode."""
    payload = block_actions_payload(action_id, value, user_id, channel_id, response_url, **kwargs)
    return SlackRequestBody(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )


def event_payload(
    event: dict[str, Any],
    event_id: str = "Ev1",
    team_id: str | None = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    authorizations: Iterable[dict[str, Any]] | None = None,
    *,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    event_time: int | None = None,
    enterprise_id: str | None = None,
) -> dict[str, Any]:
    """An Events API ``event_callback`` wrapper around ``event``, with bot authorizations.

    ``enterprise_id`` set: an event of an Enterprise Grid org; the app's authorization is
    its org-wide installation's (no team, ``is_enterprise_install``) unless ``authorizations``
    says otherwise. ``team_id`` None: an event of the org itself (its uninstall).
    """
    auths = (
        list(authorizations)
        if authorizations is not None
        else [
            {
                "enterprise_id": enterprise_id,
                "team_id": None if enterprise_id else team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": enterprise_id is not None,
            }
        ]
    )
    grid = {} if enterprise_id is None else {"enterprise_id": enterprise_id}
    return {
        **grid,
        "token": "verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": auths,
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{team_id or enterprise_id}-{event_id}",
    }


def event_body(
    event: dict[str, Any],
    event_id: str = "Ev1",
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    authorizations: Iterable[dict[str, Any]] | None = None,
    **kwargs: Any,
) -> SlackRequestBody:
    """A JSON Events API callback body for bolt's HTTP mode."""
    payload = event_payload(event, event_id, team_id, api_app_id, authorizations, **kwargs)
    return SlackRequestBody(json.dumps(payload), "application/json")


def message_event(
    text: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    ts: str = "1700000000.000001",
    **extra: Any,
) -> dict[str, Any]:
    """A plain ``message`` event from a human user in a channel."""
    return {
        "type": "message",
        "user": user_id,
        "text": text,
        "channel": channel_id,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
        **extra,
    }


def direct_message_event(
    text: str,
    user_id: str = "U1",
    channel_id: str | None = None,
    ts: str = "1700000000.000001",
    **extra: Any,
) -> dict[str, Any]:
    """A ``message`` event in the person's direct messages with the bot (``channel_type: im``).

    The channel defaults to ``D`` + the user id: the emulator counts every ``D…`` channel as
    one of the bot's own direct messages.
    """
    event = message_event(text, user_id, channel_id or f"D{user_id}", ts, **extra)
    event["channel_type"] = "im"
    return event


def app_home_opened_event(
    user_id: str = "U1",
    tab: str = "home",
    channel_id: str | None = None,
    *,
    view: dict[str, Any] | None = None,
    event_ts: str = "1700000000.000001",
) -> dict[str, Any]:
    """``app_home_opened``: someone opened the app's Home (or Messages) tab.

    Slack adds the ``view`` only when a Home view was published for that person before.
    """
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id or f"D{user_id}",
        "tab": tab,
        "event_ts": event_ts,
    }
    if view is not None:
        event["view"] = view
    return event


def home_actions_payload(
    action_id: str,
    value: str,
    user_id: str = "U1",
    *,
    view_id: str | None = None,
    team_id: str = DEFAULT_TEAM_ID,
    api_app_id: str = DEFAULT_APP_ID,
    block_id: str = "b1",
    team_domain: str = DEFAULT_TEAM_DOMAIN,
) -> dict[str, Any]:
    """A ``block_actions`` click on a button of the Home tab: no channel, no response_url."""
    view_id = view_id or f"V{user_id}"
    return {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": api_app_id,
        "token": "verification-token",
        "container": {"type": "view", "view_id": view_id},
        "trigger_id": DEFAULT_TRIGGER_ID,
        "team": {"id": team_id, "domain": team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "home",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": "1700000000.abcdef",
            "app_id": api_app_id,
        },
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": "Shuffle", "emoji": True},
                "value": value,
                "type": "button",
                "action_ts": f"{int(time.time())}.000001",
            }
        ],
    }


def home_actions_body(
    action_id: str, value: str, user_id: str = "U1", **kwargs: Any
) -> SlackRequestBody:
    """A form-encoded ``payload=<json>`` click on a Home tab button, for bolt's HTTP mode."""
    payload = home_actions_payload(action_id, value, user_id, **kwargs)
    return SlackRequestBody(
        urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    )


def app_mention_event(
    text: str,
    user_id: str = "U1",
    channel_id: str = "C1",
    ts: str = "1700000000.000001",
    *,
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    **extra: Any,
) -> dict[str, Any]:
    """An ``app_mention`` event; ``text`` is prefixed with the bot mention like Slack does."""
    return {
        "type": "app_mention",
        "user": user_id,
        "text": f"<@{bot_user_id}> {text}".rstrip(),
        "channel": channel_id,
        "ts": ts,
        "event_ts": ts,
        **extra,
    }


def app_uninstalled_payload(
    team_id: str | None = DEFAULT_TEAM_ID,
    *,
    api_app_id: str = DEFAULT_APP_ID,
    event_id: str = "EvUninstall",
    bot_user_id: str = DEFAULT_BOT_USER_ID,
    event_time: int | None = None,
    enterprise_id: str | None = None,
) -> dict[str, Any]:
    """The ``app_uninstalled`` callback Slack sends once the app is removed from a workspace.

    Bolt skips authorization for it (the workspace's tokens are already revoked), so a bot
    can drop that installation: `FakeSlack.uninstall` returns this for the test to deliver.
    An org-wide installation's (`FakeSlack.uninstall_org`): ``team_id`` None and the
    ``enterprise_id``, its authorization ``is_enterprise_install``.
    """
    return event_payload(
        {"type": "app_uninstalled"},
        event_id,
        team_id,
        api_app_id,
        bot_user_id=bot_user_id,
        event_time=event_time,
        enterprise_id=enterprise_id,
    )


def tokens_revoked_payload(
    team_id: str = DEFAULT_TEAM_ID,
    *,
    bot_user_ids: Iterable[str] = (DEFAULT_BOT_USER_ID,),
    user_ids: Iterable[str] = (),
    api_app_id: str = DEFAULT_APP_ID,
    event_id: str = "EvRevoked",
    event_time: int | None = None,
) -> dict[str, Any]:
    """The ``tokens_revoked`` callback: the users whose bot (or user) tokens stopped working.

    Slack sends it before ``app_uninstalled`` on an uninstall, and alone when a user revokes
    their own token; bolt's token revocation listeners delete those installations.
    """
    bots = list(bot_user_ids)
    event = {"type": "tokens_revoked", "tokens": {"oauth": list(user_ids), "bot": bots}}
    return event_payload(
        event,
        event_id,
        team_id,
        api_app_id,
        bot_user_id=bots[0] if bots else DEFAULT_BOT_USER_ID,
        event_time=event_time,
    )


def url_verification_body(
    challenge: str,
    token: str = "verification-token",  # noqa: S107 - Slack's legacy verification token field
) -> SlackRequestBody:
    """The JSON ``url_verification`` handshake Slack sends when the Request URL is set."""
    payload = {"token": token, "challenge": challenge, "type": "url_verification"}
    return SlackRequestBody(json.dumps(payload), "application/json")
