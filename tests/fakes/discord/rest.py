"""The emulated Discord's REST API: routing, authentication, injected failures, the routes.

A mixin of `FakeDiscord`. Only the routes the bot calls are served (signing in, application
info, ``/gateway/bot``, command sync, channel messages and history, reactions); anything else
answers 404 like an unknown route. Interaction callbacks and webhooks live in `callbacks`, files
(multipart bodies, attachments) in `uploads`.
"""

from __future__ import annotations

import copy
import json
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.fakes.discord.records import (
    RecordedMessage,
    RecordedReaction,
    RecordedRequest,
    _ApiError,
    _form_error,
    _Injection,
    _Reply,
    _unknown_message,
    _validate_message_body,
)
from tests.fakes.discord.wire import (
    ADD_REACTIONS,
    API_PREFIX,
    ATTACH_FILES,
    JSON,
    NONCE_WINDOW_SECONDS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    FakeChannel,
)

_COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")
_ID = r"(\d+)"
_TOKEN = r"([^/]+)"
Handler = Callable[[RecordedRequest, "re.Match[str]"], Awaitable[_Reply]]


class Rest:
    """The REST half of the emulator (see the module docstring)."""

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

    def _register_routes(self) -> None:
        """The routes the bot calls; ``True`` where a bot token is required."""
        app = _ID
        message = rf"/channels/{_ID}/messages"
        routes: list[tuple[str, str, Handler, bool]] = [
            ("GET", r"/users/@me", self._get_me, True),
            ("GET", r"/oauth2/applications/@me", self._get_application, True),
            ("GET", r"/applications/@me", self._get_application, True),
            ("GET", r"/gateway/bot", self._get_gateway_bot, True),
            ("PUT", rf"/applications/{app}/commands", self._put_commands, True),
            ("PUT", rf"/applications/{app}/guilds/{_ID}/commands", self._put_commands, True),
            ("POST", rf"/interactions/{_ID}/{_TOKEN}/callback", self._interaction_callback, False),
            ("POST", rf"/webhooks/{_ID}/{_TOKEN}", self._webhook_execute, False),
            (
                "DELETE",
                rf"/webhooks/{_ID}/{_TOKEN}/messages/(@original|\d+)",
                self._webhook_delete,
                False,
            ),
            (
                "PATCH",
                rf"/webhooks/{_ID}/{_TOKEN}/messages/(@original|\d+)",
                self._webhook_edit,
                False,
            ),
            ("GET", message, self._get_messages, True),
            ("POST", message, self._post_message, True),
            ("PUT", rf"{message}/{_ID}/reactions/{_TOKEN}/@me", self._add_reaction, True),
            ("POST", rf"{message}/{_ID}/threads", self._start_thread, True),
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
            rec.json = await self._read_body(request, rec)
            reply = await self._route(request, rec)
        except _ApiError as err:
            reply = err.reply
        rec.status = reply.status
        rec.response = reply.body
        await self._notify()
        return reply.to_response()

    async def _read_body(self, request: web.Request, rec: RecordedRequest) -> Any:
        """The JSON body, or a multipart body's ``payload_json`` (its files: ``rec.files``)."""
        text = await self._read_request(request, rec)
        if not text:
            return None
        if request.content_type not in ("application/json", "multipart/form-data"):
            raise _form_error([], "CONTENT_TYPE_INVALID", "Expected application/json")
        return self._parse_json(text)

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

    def _check_app(self, raw: str) -> None:
        if int(raw) != self.application_id:
            raise _ApiError(403, "Missing Access", 50001)

    def _check_post_allowed(self, channel: FakeChannel, needed: int) -> None:
        if not self.bot_sees(channel):  # someone else's DM, a server without the bot
            raise _ApiError(403, "Missing Access", 50001)
        if channel.id in self._denied_channels:
            raise _ApiError(403, "Missing Permissions", 50013)
        if channel.guild_id is not None:
            perms = self.permissions_for(channel.guild_id, self.bot_id, channel.id)
            if not perms & VIEW_CHANNEL:
                raise _ApiError(403, "Missing Access", 50001)
            if perms & needed != needed:
                raise _ApiError(403, "Missing Permissions", 50013)

    async def _get_me(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, self._me_payload())

    async def _get_application(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        return _Reply(200, self._application_payload())

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

    def _scope(self, m: re.Match[str]) -> int | None:
        self._check_app(m[1])
        if m.lastindex and m.lastindex >= 2:
            gid = int(m[2])
            if gid not in self.guilds:
                raise _ApiError(403, "Missing Access", 50001)
            return gid
        return None

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

    async def _get_messages(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        channel = self._channel(int(m[1]))
        if not self.bot_sees(channel):
            raise _ApiError(403, "Missing Access", 50001)
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
        needed = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        self._check_post_allowed(channel, needed | (ATTACH_FILES if rec.files else 0))
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            seen = self._nonces.get(str(nonce))
            if seen is not None and self.clock() - seen[1] < NONCE_WINDOW_SECONDS:
                earlier = self._message_store.get(seen[0])
                if earlier is not None:
                    return _Reply(200, copy.deepcopy(earlier))
        _validate_message_body(body, require_content=True)
        attachments = self._new_attachments(body, rec.files)
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
            attachments=self._attachment_payloads(attachments, channel.id),
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
            self._nonces[str(nonce)] = (mid, self.clock())
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
            attachments=attachments,
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
