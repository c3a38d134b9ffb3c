"""Files on the emulated Discord: multipart bodies, attachments, Attach Files, the size limit.

A mixin of `FakeDiscord`. When a message or an interaction answer carries ``discord.File``s,
discord.py sends a ``multipart/form-data`` body (discord/http.py ``handle_message_parameters``,
discord/webhook/async_.py): a ``payload_json`` part with the message, whose ``attachments``
list ``{"id": n, "filename", "description"}``, and one ``files[n]`` part per file
(``application/octet-stream``, the file name in its Content-Disposition).  Discord stores
each file as an attachment with a snowflake id, a CDN ``url``, its ``size`` and a
``content_type`` it works out itself (discord.py sends none worth keeping), and answers with
those in the message's ``attachments``; the emulator does the same and keeps the bytes
(`RecordedAttachment`), served at the attachment's ``url`` so ``Attachment.read()`` works.

What Discord refuses, the emulator refuses:

* a body over ``max_request_bytes`` (default `UPLOAD_LIMIT`, the 10 MiB a server without
  boosts takes): 413 "Request entity too large", code 40005;
* files in a channel message where the bot lacks Attach Files (`deny_attach_files`): 403
  "Missing Permissions", code 50013.  Interaction answers and follow-ups are not checked:
  they go through the interaction's webhook, which is how user installs (no channel access
  at all) post, and the interaction's ``app_permissions`` tell the bot what it may attach;
* more than 10 files, or an alt text (``description``) over 1,024 characters: 400, 50035.
"""

from __future__ import annotations

import copy
import mimetypes
import re
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.discord.records import (
    RecordedAttachment,
    RecordedRequest,
    UploadedPart,
    _ApiError,
    _form_error,
    _too_many,
)
from tests.fakes.discord.wire import ATTACHMENT_SIZE_LIMIT, JSON, SnowflakeFactory
from tests.fakes.images import png_size

__all__ = ["MAX_DESCRIPTION", "MAX_FILES", "UPLOAD_LIMIT", "Uploads"]

UPLOAD_LIMIT = ATTACHMENT_SIZE_LIMIT
MAX_FILES = 10
MAX_DESCRIPTION = 1024
_FILES_PART = re.compile(r"^files\[(\d+)\]$")


def _too_large() -> _ApiError:
    return _ApiError(413, "Request entity too large", 40005)


class Uploads:
    """Attachments (see the module docstring)."""

    snowflake: SnowflakeFactory
    #: Every attachment the bot uploaded, by id.
    attachments: dict[int, RecordedAttachment]
    #: The largest request body Discord takes (``None``: no limit); a test may lower it.
    max_request_bytes: int | None
    _no_attach_channels: set[int]

    @property
    def base_url(self) -> str:  # pragma: no cover - FakeDiscord defines it
        """``http://127.0.0.1:PORT``."""
        raise NotImplementedError

    def deny_attach_files(self, channel_id: int) -> None:
        """Take Attach Files from the bot in ``channel_id``: messages with files get 403 50013.

        Like `deny_channel`, only the bot's permissions change (REST answers and the
        ``app_permissions`` of later interactions); its text messages still go through.
        A server channel only: in direct messages a bot may always attach files.
        """
        self._no_attach_channels.add(channel_id)

    def allow_attach_files(self, channel_id: int) -> None:
        """Give Attach Files back to the bot in ``channel_id``."""
        self._no_attach_channels.discard(channel_id)

    # ------------------------------------------------------------------ reading bodies

    async def _read_request(self, request: web.Request, rec: RecordedRequest) -> str:
        """The body's JSON text (``payload_json`` of a multipart body, whose files go to
        ``rec.files``); 413 above ``max_request_bytes``."""
        limit = self.max_request_bytes
        if limit is not None and (request.content_length or 0) > limit:
            raise _too_large()
        if request.content_type != "multipart/form-data":
            raw = await request.read()
            if limit is not None and len(raw) > limit:
                raise _too_large()
            return raw.decode("utf-8", errors="replace")
        text = ""
        total = 0
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader):  # pragma: no cover - nested
                continue
            data = bytes(await part.read(decode=False))
            total += len(data)
            if part.name == "payload_json":
                text = data.decode("utf-8", errors="replace")
                continue
            found = _FILES_PART.match(part.name or "")
            if found is None:
                raise _form_error([part.name or ""], "UNKNOWN_FIELD", "Unknown form field")
            rec.files.append(
                UploadedPart(
                    index=int(found[1]),
                    filename=part.filename or "",
                    content_type=part.headers.get("Content-Type", "application/octet-stream"),
                    data=data,
                )
            )
        if limit is not None and total > limit:
            raise _too_large()
        if len(rec.files) > MAX_FILES:
            raise _too_many(["files"], MAX_FILES)
        return text

    # ------------------------------------------------------------------ attachments

    def _new_attachments(
        self, body: JSON, files: list[UploadedPart], at: tuple[str, ...] = ()
    ) -> list[RecordedAttachment]:
        """Store the uploaded ``files`` as attachments, named as ``body["attachments"]`` says.

        ``at`` prefixes the field paths of errors (``("data",)`` for interaction callbacks).
        """
        by_index = {part.index: part for part in files}
        declared: dict[int, JSON] = {}
        for number, item in enumerate(body.get("attachments") or []):
            if not isinstance(item, dict):
                continue
            index = _index(item.get("id"))
            if index is None or index not in by_index:
                continue  # an attachment the message keeps (edits), or none of ours
            description = item.get("description")
            if description is not None and len(str(description)) > MAX_DESCRIPTION:
                raise _too_many([*at, "attachments", str(number), "description"], MAX_DESCRIPTION)
            declared[index] = item
        stored = []
        for part in sorted(files, key=lambda p: p.index):
            item = declared.get(part.index, {})
            filename = str(item.get("filename") or part.filename or f"file{part.index}")
            size = png_size(part.data)
            attachment = RecordedAttachment(
                id=self.snowflake(),
                filename=filename,
                description=None if item.get("description") is None else str(item["description"]),
                content_type=_content_type(filename, part),
                data=part.data,
                width=size[0] if size else None,
                height=size[1] if size else None,
            )
            self.attachments[attachment.id] = attachment
            stored.append(attachment)
        return stored

    def _attachment_payloads(
        self, attachments: list[RecordedAttachment], channel_id: int, *, ephemeral: bool = False
    ) -> list[JSON]:
        """The ``attachments`` of a message object, as Discord answers them."""
        shown = []
        for attachment in attachments:
            url = f"{self.base_url}/attachments/{channel_id}/{attachment.id}/{attachment.filename}"
            payload: JSON = {
                "id": str(attachment.id),
                "filename": attachment.filename,
                "size": attachment.size,
                "url": url,
                "proxy_url": url,
                "content_type": attachment.content_type,
            }
            if attachment.description is not None:
                payload["description"] = attachment.description
            if attachment.width is not None:
                payload.update(width=attachment.width, height=attachment.height)
            if ephemeral:
                payload["ephemeral"] = True
            shown.append(payload)
        return shown

    def _edited_attachments(
        self, msg: JSON, body: JSON, new: list[RecordedAttachment], *, ephemeral: bool
    ) -> list[JSON] | None:
        """A message's ``attachments`` after an edit; None if the edit leaves them alone.

        As on Discord: with ``attachments`` in the body only the existing ones it lists (by
        id) stay, plus the new files; without it, every existing one stays and new files join.
        """
        if "attachments" not in body and not new:
            return None
        existing = list(msg.get("attachments") or [])
        if "attachments" in body:
            keep = {
                str(item.get("id"))
                for item in body.get("attachments") or []
                if isinstance(item, dict) and _index(item.get("id")) is None
            }
            existing = [a for a in existing if str(a["id"]) in keep]
        channel_id = int(msg["channel_id"])
        return copy.deepcopy(existing) + self._attachment_payloads(
            new, channel_id, ephemeral=ephemeral
        )

    async def _serve_attachment(self, request: web.Request) -> web.Response:
        """The CDN: an attachment's bytes at its ``url``."""
        attachment = self.attachments.get(int(request.match_info["attachment_id"]))
        if attachment is None or attachment.filename != request.match_info["filename"]:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=attachment.data, content_type=attachment.content_type)


def _index(raw: Any) -> int | None:
    """The file index an ``attachments`` item names (a new file), or None (an existing one).

    discord.py numbers new files 0, 1, …; existing attachments keep their snowflake ids.
    """
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 <= value < MAX_FILES else None


def _content_type(filename: str, part: UploadedPart) -> str:
    """What Discord stores: the type it recognises from the name, else what was sent."""
    guessed = mimetypes.guess_type(filename)[0]
    if guessed is not None:
        return guessed
    return part.content_type or "application/octet-stream"
