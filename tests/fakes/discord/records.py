"""What the emulator records and how it answers: recordings, Discord's errors and limits.

The limits are the ones Discord enforces with a 400 (code 50035, Invalid Form Body, with the
field path in ``errors``), so a bot that breaks one fails in the tests as it would in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes.discord.wire import JSON, MESSAGE_FLAG_EPHEMERAL


@dataclass
class RecordedRequest:
    """One REST call as received (``path`` is relative to ``/api/v10``, decoded)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
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


def _validate_message_body(body: JSON, *, require_content: bool) -> None:
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
        content or embeds or body.get("components") or body.get("sticker_ids") or body.get("poll")
    ):
        raise _ApiError(400, "Cannot send an empty message", 50006)
