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


@dataclass(frozen=True)
class UploadedPart:
    """One ``files[n]`` part of a multipart body, as it arrived."""

    index: int
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedAttachment:
    """A file the bot attached to a message: what Discord stored, bytes included."""

    id: int
    filename: str
    description: str | None
    content_type: str
    data: bytes
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        """The file's size in bytes, as Discord reports it."""
        return len(self.data)


@dataclass
class RecordedRequest:
    """One REST call as received (``path`` is relative to ``/api/v10``, decoded).

    A multipart body's ``payload_json`` is in ``json``, its ``files[n]`` parts in ``files``.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]
    status: int = 0
    response: Any = None
    files: list[UploadedPart] = field(default_factory=list)


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
    attachments: list[RecordedAttachment] = field(default_factory=list)


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
    attachments: list[RecordedAttachment] = field(default_factory=list)

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
    attachments: list[RecordedAttachment] = field(default_factory=list)

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
    context: int = 0
    owners: dict[str, str] = field(default_factory=dict)  # authorizing_integration_owners


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


MAX_LENGTH = "BASE_TYPE_MAX_LENGTH"
BAD_LENGTH = "BASE_TYPE_BAD_LENGTH"


def _too_many(path: list[str], limit: int) -> _ApiError:
    return _form_error(path, MAX_LENGTH, f"Must be {limit} or fewer in length.")


def _bad_length(path: list[str], limit: int) -> _ApiError:
    return _form_error(path, BAD_LENGTH, f"Must be between 1 and {limit} in length.")


def _validate_components(rows: list[JSON], at: list[str]) -> None:
    """At most 5 action rows of at most 5 components; custom ids of 1 to 100 characters."""
    if len(rows) > 5:
        raise _too_many([*at, "components"], 5)
    for r, row in enumerate(rows):
        items = row.get("components") or []
        row_path = [*at, "components", str(r), "components"]
        if len(items) > 5:
            raise _too_many(row_path, 5)
        for c, item in enumerate(items):
            custom = item.get("custom_id")
            if custom is not None and not 1 <= len(str(custom)) <= 100:
                raise _bad_length([*row_path, str(c), "custom_id"], 100)


def _validate_choices(data: JSON) -> None:
    """An autocomplete result: at most 25 choices, names and string values of 1 to 100."""
    choices = data.get("choices") or []
    if len(choices) > 25:
        raise _too_many(["data", "choices"], 25)
    for index, choice in enumerate(choices):
        if not 1 <= len(str(choice.get("name") or "")) <= 100:
            raise _bad_length(["data", "choices", str(index), "name"], 100)
        value = choice.get("value")
        if isinstance(value, str) and not 1 <= len(value) <= 100:
            raise _bad_length(["data", "choices", str(index), "value"], 100)


def _validate_message_body(
    body: JSON, *, require_content: bool, path: tuple[str, ...] = ()
) -> None:
    """Apply the limits Discord enforces on message bodies (400s like the real API).

    `path` prefixes the field paths of the errors (``["data"]`` for interaction callbacks).
    """
    at = list(path)
    content = body.get("content")
    if content is not None and len(str(content)) > 2000:
        raise _too_many([*at, "content"], 2000)
    embeds = body.get("embeds") or []
    if len(embeds) > 10:
        raise _too_many([*at, "embeds"], 10)
    for index, embed in enumerate(embeds):
        for key, limit in (("title", 256), ("description", 4096)):
            if len(embed.get(key) or "") > limit:
                raise _too_many([*at, "embeds", str(index), key], limit)
        if len(embed.get("fields") or []) > 25:
            raise _too_many([*at, "embeds", str(index), "fields"], 25)
    if sum(_embed_length(e) for e in embeds) > 6000:
        raise _form_error(
            [*at, "embeds"], "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )
    _validate_components(list(body.get("components") or []), at)
    if require_content and not (
        content
        or embeds
        or body.get("components")
        or body.get("sticker_ids")
        or body.get("poll")
        or body.get("attachments")
    ):
        raise _ApiError(400, "Cannot send an empty message", 50006)
