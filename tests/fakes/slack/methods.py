"""The Web API methods the emulator answers, each as the workspace of the calling token.

Why a module of its own: `FakeSlack` (tests/fakes/slack/api.py) is the server — routing,
tokens, faults, Socket Mode — while these are Slack's answers to the handful of methods the
bot calls: chat.postMessage, reactions.add, users.info, conversations.history… with Slack's
errors.  `WebApiMethods` is mixed into `FakeSlack`, which provides the state declared here.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

from tests.fakes.slack.blockkit import message_problem, view_problem
from tests.fakes.slack.limits import HistoryRateLimit
from tests.fakes.slack.workspaces import ApiRequest, Enterprise, SlackError, Workspace

__all__ = ["WebApiMethods"]

_FIRST_TS_SECONDS = 1_700_000_000
_TS_STEP_MICROS = 100


class WebApiMethods:
    """Handlers of the Web API methods: ``ApiRequest`` in, the ``ok: true`` fields out."""

    app_id: str
    enterprises: dict[str, Enterprise]
    users: dict[str, dict[str, Any]]
    channel_members: dict[str, set[str]]
    private_channels: set[str]
    home_tab_enabled: bool
    home_views: dict[str, dict[str, Any]]
    history_pages: list[tuple[str, int, int]]
    history_limit: HistoryRateLimit | None
    unfurl_links: dict[str, bool]
    images_unreachable: bool
    _channels: dict[str, list[dict[str, Any]]]
    _tickets: set[str]
    _ts_counter: int

    @property
    def port(self) -> int:  # pragma: no cover - FakeSlack defines it
        """The TCP port the fake listens on."""
        raise NotImplementedError

    def _next_ts(self) -> str:
        self._ts_counter += 1
        micros = self._ts_counter * _TS_STEP_MICROS
        return f"{_FIRST_TS_SECONDS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _find_message(self, channel: str, ts: str) -> dict[str, Any]:
        for message in self._channels.get(channel, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def _auth_test(self, req: ApiRequest) -> dict[str, Any]:
        if req.issued is not None and req.issued.team_id is None and req.issued.enterprise_id:
            org = self.enterprises[req.issued.enterprise_id]  # an org-wide installation's bot
            return {
                "url": f"https://{org.enterprise_id.lower()}.enterprise.slack.com/",
                "team": org.name,
                "user": "maxim",
                "team_id": org.enterprise_id,
                "user_id": org.bot_user_id,
                "bot_id": org.bot_id,
                "enterprise_id": org.enterprise_id,
                "is_enterprise_install": True,
            }
        ws = req.team
        answer: dict[str, Any] = {
            "url": ws.url,
            "team": ws.team_name,
            "user": ws.bot_name,
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }
        if req.issued is not None and req.issued.kind == "user":  # a person, not the bot
            del answer["bot_id"]
            answer["user"] = ws.installer_user_id.lower()
            answer["user_id"] = ws.installer_user_id
        return answer

    def _apps_connections_open(self, req: ApiRequest) -> dict[str, Any]:
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        return {"url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"}

    def _new_bot_message(self, ws: Workspace, body: dict[str, Any], ts: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "type": "message",
            "user": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "app_id": self.app_id,
            "team": ws.team_id,
            "text": str(body.get("text") or ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "metadata", "thread_ts"):
            if body.get(key):
                message[key] = copy.deepcopy(body[key])
        return message

    def _chat_post_message(self, req: ApiRequest) -> dict[str, Any]:
        body = req.body
        channel = _require(body, "channel", "channel_not_found")
        if channel not in req.team.channels and not channel.startswith("D"):
            raise SlackError("not_in_channel")
        _check_message(body)
        self._fetch_images(body)
        ts = self._next_ts()
        message = self._new_bot_message(req.team, body, ts)
        self._channels.setdefault(channel, []).append(message)
        # An app's text links unfurl only when it asks (Slack's default for apps is false).
        self.unfurl_links[ts] = _truthy(body.get("unfurl_links", False))
        return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}

    def _fetch_images(self, body: dict[str, Any]) -> None:
        """Slack downloads each image block's picture as it posts; `images_unreachable` fails it."""
        blocks = body.get("blocks") or []
        if self.images_unreachable and any(b.get("type") == "image" for b in blocks):
            raise SlackError(
                "invalid_blocks",
                response_metadata={
                    "messages": ["[ERROR] Downloading image failed [json-pointer:/blocks/0]"]
                },
            )

    def _chat_post_ephemeral(self, req: ApiRequest) -> dict[str, Any]:
        body = req.body
        _require(body, "channel", "channel_not_found")
        _require(body, "user", "user_not_in_channel")
        _check_message(body)
        return {"message_ts": self._next_ts()}

    def _reactions_add(self, req: ApiRequest) -> dict[str, Any]:
        body, bot_user_id = req.body, req.team.bot_user_id
        channel = _require(body, "channel", "channel_not_found")
        ts = _require(body, "timestamp", "message_not_found")
        name = _require(body, "name", "invalid_name").strip(":")
        message = self._find_message(channel, ts)
        reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
        reaction = next((r for r in reactions if r["name"] == name), None)
        if reaction is None:
            reactions.append({"name": name, "users": [bot_user_id], "count": 1})
        elif bot_user_id in reaction["users"]:
            raise SlackError("already_reacted")
        else:
            reaction["users"].append(bot_user_id)
            reaction["count"] += 1
        return {}

    def _users_info(self, req: ApiRequest) -> dict[str, Any]:
        ws = req.team
        user_id = _require(req.body, "user", "user_not_found")
        configured = self.users.get(user_id)
        if configured is None and user_id != ws.bot_user_id:
            raise SlackError("user_not_found")
        user: dict[str, Any] = {
            "id": user_id,
            "team_id": ws.team_id,
            "name": user_id.lower(),
            "real_name": user_id,
            "deleted": False,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_bot": user_id == ws.bot_user_id,
            "tz": "UTC",
            "tz_offset": 0,
            "profile": {"real_name": user_id, "display_name": user_id.lower()},
        }
        user.update(copy.deepcopy(configured or {}))
        return {"user": user}

    def _conversations_history(self, req: ApiRequest) -> dict[str, Any]:
        body = req.body
        channel = _require(body, "channel", "channel_not_found")
        try:
            limit = max(1, min(int(body.get("limit") or 100), 999))
        except (TypeError, ValueError):
            raise SlackError("invalid_arguments") from None
        if self.history_limit is not None:
            limit = self.history_limit.cap(limit)
        # Newest first, thread replies left out, as Slack lists a channel.
        visible = [
            m
            for m in reversed(self._channels.get(channel, []))
            if m.get("thread_ts") in (None, m["ts"])
        ]
        if body.get("oldest"):  # only messages after `oldest` (Slack: exclusive by default)
            try:
                oldest = float(body["oldest"])
            except (TypeError, ValueError):
                raise SlackError("invalid_arguments") from None
            visible = [m for m in visible if float(m["ts"]) > oldest]
        try:  # our cursors are plain offsets into the listing
            start = int(body.get("cursor") or 0)
        except ValueError:
            raise SlackError("invalid_cursor") from None
        include_metadata = _truthy(body.get("include_all_metadata"))
        messages = []
        for m in visible[start : start + limit]:
            shown = copy.deepcopy(m)
            if not include_metadata:
                shown.pop("metadata", None)
            messages.append(shown)
        more = len(visible) > start + limit
        self.history_pages.append((channel, start, len(messages)))
        return {
            "messages": messages,
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _users_conversations(self, req: ApiRequest) -> dict[str, Any]:
        """The channels a user is in; someone else's private ones only where the bot is too."""
        body, ws = req.body, req.team
        user = str(body.get("user") or ws.bot_user_id)
        types = set(str(body.get("types") or "public_channel").split(","))
        try:
            limit = max(1, min(int(body.get("limit") or 100), 999))
            start = int(str(body.get("cursor") or "0"))
        except (TypeError, ValueError):
            raise SlackError("invalid_cursor") from None
        found = []
        for channel in sorted(set(self.channel_members) | ws.channels):
            private = channel in self.private_channels
            if user == ws.bot_user_id:
                theirs = channel in ws.channels
            else:
                theirs = user in self.channel_members.get(channel, set())
            if not theirs:
                continue
            if ("private_channel" if private else "public_channel") not in types:
                continue
            if private and channel not in ws.channels:
                continue
            found.append({"id": channel, "is_channel": not private, "is_private": private})
        page = found[start : start + limit]
        more = start + limit < len(found)
        return {
            "channels": page,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _views_publish(self, req: ApiRequest) -> dict[str, Any]:
        body, ws = req.body, req.team
        user = _require(body, "user_id", "invalid_arguments")
        view = body.get("view")
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments")
        if not self.home_tab_enabled:
            raise SlackError("not_enabled")
        problem = view_problem(view)
        if problem is not None:
            raise SlackError(problem)
        shown = self.home_views.get(user)
        if body.get("hash") and shown is not None and body["hash"] != shown["hash"]:
            raise SlackError("hash_conflict")
        published = {
            **copy.deepcopy(view),
            "id": f"V{user}",
            "team_id": ws.team_id,
            "app_id": self.app_id,
            "bot_id": ws.bot_id,
            "hash": self._next_ts(),
        }
        self.home_views[user] = published
        return {"view": copy.deepcopy(published)}


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------


def _check_message(body: dict[str, Any]) -> None:
    """Slack's checks of a message's content: something to show, within Block Kit's limits."""
    if not any(body.get(k) for k in ("text", "blocks", "attachments")):
        raise SlackError("no_text")
    problem = message_problem(body)
    if problem is not None:
        raise SlackError(problem)


def _truthy(value: Any) -> bool:
    """Slack's boolean arguments arrive as true/1 (JSON) or "true"/"1" (form, query)."""
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes"}
    return bool(value)


def _require(body: Mapping[str, Any], key: str, error: str) -> str:
    value = body.get(key)
    if value in (None, ""):
        raise SlackError(error)
    return str(value)
