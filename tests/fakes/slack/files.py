"""Slack's external file upload on the emulator: what slack_sdk's ``files_upload_v2`` drives.

Why this exists: a maxim card reaches a Slack channel in three steps, each of which can fail
on its own — ``files.getUploadURLExternal`` hands out an upload URL and a file id, the bytes
are POSTed to that URL, and ``files.completeUploadExternal`` shares the file into a channel
as a message.  A poster killed between the upload and the completion leaves an uploaded file
and no message; tests of exactly-once posting need that state, and the bytes that arrived,
so the emulator keeps every upload (`UploadedFile`) and lets a test hold or drop any step
(``hold_next("files.completeUploadExternal")``, ``drop_next(UPLOAD)``).

What Slack documents, and the emulator does
(https://docs.slack.dev/reference/methods/files.getUploadURLExternal,
https://docs.slack.dev/reference/methods/files.completeUploadExternal):

* both methods need the ``files:write`` scope (``missing_scope`` otherwise, naming the
  ``needed`` and the ``provided`` scopes);
* the upload URL takes the raw bytes or a multipart form and answers ``200 OK - <length>``
  as ``text/plain`` (slack_sdk reads that content type as the upload's answer);
* completing a file id that was never issued, whose bytes never arrived, or that was
  completed already is ``file_not_found`` ("Could not find the file from the upload
  ticket"; "This method can only be called once");
* an unknown channel is ``channel_not_found``, one the bot is not in ``not_in_channel``;
* the shared file appears in the channel as one bot message carrying ``files`` (name,
  title, id…) with the message's ``ts``, as ``conversations.history`` lists it.

Where Slack is silent: its method pages list no error for bytes that differ from the
``length`` given to getUploadURLExternal.  The emulator answers completeUploadExternal with
`SIZE_MISMATCH` (``file_upload_size_mismatch``) then, and leaves the file uncompleted, so a
test can prove the bot never shares a truncated card.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from tests.fakes.images import png_size
from tests.fakes.slack.methods import _require
from tests.fakes.slack.workspaces import ApiRequest, SlackError, Workspace

__all__ = ["FILES_SCOPE", "SIZE_MISMATCH", "UPLOAD", "FilesMixin", "UploadedFile"]

FILES_SCOPE = "files:write"
#: The error for bytes that differ from the announced ``length`` (Slack documents none).
SIZE_MISMATCH = "file_upload_size_mismatch"
#: The name `hold_next`, `drop_next` and `server_error_next` know the upload URL by.
UPLOAD = "upload"
MAX_FILE_BYTES = 1024 * 1024 * 1024  # Slack's limit for one file: 1 GB


@dataclass(eq=False)
class UploadedFile:
    """One file id getUploadURLExternal issued, and what happened to it since.

    ``data`` is what arrived at its upload URL (None: nothing yet); ``shares`` maps each
    channel it was shared into to the ts of the message that carries it.
    """

    id: str
    team_id: str
    user_id: str
    filename: str
    length: int
    alt_txt: str | None = None
    snippet_type: str | None = None
    created: int = field(default_factory=lambda: int(time.time()))
    data: bytes | None = None
    uploads: int = 0
    title: str | None = None
    completed: bool = False
    shares: dict[str, str] = field(default_factory=dict)

    @property
    def uploaded(self) -> bool:
        """Whether bytes arrived at the upload URL."""
        return self.data is not None


class FilesMixin:
    """``files.getUploadURLExternal``, the upload URL, ``files.completeUploadExternal``.

    Mixed into `FakeSlack`, which provides the state declared here.
    """

    uploaded_files: dict[str, UploadedFile]
    #: Answer completeUploadExternal with empty ``shares``/``channels``, as Slack sometimes
    #: does while it is still sharing the file (the message is in the history either way).
    share_info_delayed: bool
    workspaces: dict[str, Workspace]
    channel_members: dict[str, set[str]]
    private_channels: set[str]
    _channels: dict[str, list[dict[str, Any]]]

    @property
    def base_url(self) -> str:  # pragma: no cover - FakeSlack defines it
        """``http://127.0.0.1:PORT/``."""
        raise NotImplementedError

    def _next_ts(self) -> str:  # pragma: no cover - WebApiMethods defines it
        raise NotImplementedError

    async def _notify(self, update: Callable[[], None] | None = None) -> None:  # pragma: no cover
        raise NotImplementedError

    async def _await_hold(self, method: str) -> bool:  # pragma: no cover - FakeSlack's
        raise NotImplementedError

    def _take_drop(self, method: str) -> bool:  # pragma: no cover - FakeSlack's
        raise NotImplementedError

    def _fault_response(self, method: str) -> web.Response | None:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------------ for tests

    def uploaded_bytes(self, file_id: str) -> bytes:
        """The bytes that arrived for ``file_id`` (AssertionError if none did)."""
        record = self.uploaded_files.get(file_id)
        if record is None or record.data is None:
            raise AssertionError(f"no bytes arrived for file {file_id}: {self.uploaded_files!r}")
        return record.data

    def file_messages(self, channel: str) -> list[dict[str, Any]]:
        """The messages in ``channel`` that carry files, oldest first."""
        return [copy.deepcopy(m) for m in self._channels.get(channel, []) if m.get("files")]

    def channel_exists(self, channel: str) -> bool:
        """Whether ``channel`` is a conversation Slack knows.

        Direct messages (``D…``), any workspace's channels (where the bot is), channels with
        people in ``channel_members``, ``private_channels`` and channels with history
        (``add_chatter``) exist; any other id is ``channel_not_found``.
        """
        return (
            channel.startswith("D")
            or any(channel in ws.channels for ws in self.workspaces.values())
            or channel in self.channel_members
            or channel in self.private_channels
            or channel in self._channels
        )

    # ------------------------------------------------------------------ the methods

    def _files_get_upload_url_external(self, req: ApiRequest) -> dict[str, Any]:
        body = req.body
        filename = _require(body, "filename", "invalid_arguments")
        try:
            length = int(_require(body, "length", "invalid_arguments"))
        except ValueError:
            raise SlackError("invalid_arguments") from None
        if length < 1:
            raise SlackError("invalid_arguments")
        if length > MAX_FILE_BYTES:
            raise SlackError("file_too_large")
        file_id = "F" + secrets.token_hex(5).upper()
        self.uploaded_files[file_id] = UploadedFile(
            id=file_id,
            team_id=req.team.team_id,
            user_id=req.team.bot_user_id,
            filename=filename,
            length=length,
            alt_txt=_optional(body, "alt_txt"),
            snippet_type=_optional(body, "snippet_type"),
        )
        return {"upload_url": f"{self.base_url}upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, req: ApiRequest) -> dict[str, Any]:
        body, ws = req.body, req.team
        items = _file_items(body.get("files"))
        records: list[tuple[UploadedFile, dict[str, Any]]] = []
        for item in items:
            record = self.uploaded_files.get(str(item.get("id") or ""))
            if record is None or record.team_id != ws.team_id or record.completed:
                raise SlackError("file_not_found")
            if record.data is None:  # the ticket has no upload behind it
                raise SlackError("file_not_found")
            if len(record.data) != record.length:
                raise SlackError(SIZE_MISMATCH)
            records.append((record, item))
        channels = _channels_of(body)
        for channel in channels:
            if not self.channel_exists(channel):
                raise SlackError("channel_not_found")
            if channel not in ws.channels and not channel.startswith("D"):
                raise SlackError("not_in_channel")
        for record, item in records:
            record.completed = True
            record.title = str(item.get("title") or record.filename)
        for channel in channels:
            ts = self._next_ts()
            message: dict[str, Any] = {
                "type": "message",
                "text": str(body.get("initial_comment") or ""),
                "files": [],
                "upload": True,
                "user": ws.bot_user_id,
                "bot_id": ws.bot_id,
                "display_as_bot": False,
                "team": ws.team_id,
                "ts": ts,
            }
            if body.get("thread_ts"):
                message["thread_ts"] = str(body["thread_ts"])
            for record, _ in records:
                record.shares[channel] = ts
            message["files"] = [
                self._file_object(ws, record, shares=False) for record, _ in records
            ]
            self._channels.setdefault(channel, []).append(message)
        shown = [self._file_object(ws, record, shares=True) for record, _ in records]
        return {"files": shown}

    def _file_object(self, ws: Workspace, record: UploadedFile, *, shares: bool) -> dict[str, Any]:
        """A file as Slack describes it in messages and in completeUploadExternal's answer."""
        data = record.data or b""
        name = record.filename
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        created = record.created
        private = f"{self.base_url}files-pri/{ws.team_id}-{record.id}/{name}"
        shown: dict[str, Any] = {
            "id": record.id,
            "created": created,
            "timestamp": created,
            "name": name,
            "title": record.title or name,
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": record.user_id,
            "user_team": ws.team_id,
            "editable": False,
            "size": len(data),
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(c not in self.private_channels for c in record.shares),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": private,
            "url_private_download": private.replace(f"/{name}", f"/download/{name}"),
            "permalink": f"{ws.url}files/{record.user_id}/{record.id}/{name}",
            "file_access": "visible",
        }
        if record.alt_txt:
            shown["alt_txt"] = record.alt_txt
        size = png_size(data)
        if size is not None:
            shown["original_w"], shown["original_h"] = size
        if shares:
            public = {c: ts for c, ts in record.shares.items() if c not in self.private_channels}
            hidden = {c: ts for c, ts in record.shares.items() if c in self.private_channels}
            shown["channels"] = [] if self.share_info_delayed else sorted(record.shares)
            shown["shares"] = {}
            if not self.share_info_delayed:
                for kind, found in (("public", public), ("private", hidden)):
                    if found:
                        shown["shares"][kind] = {
                            c: [{"ts": ts, "team_id": ws.team_id, "reply_count": 0}]
                            for c, ts in found.items()
                        }
        return shown

    # ------------------------------------------------------------------ the upload URL

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        """POST of a file's bytes to the URL getUploadURLExternal gave out."""
        if await self._await_hold(UPLOAD) or self._take_drop(UPLOAD):
            _drop_connection(request)
            return web.Response(status=500)  # never reaches the client
        fault = self._fault_response(UPLOAD)
        if fault is not None:
            return fault
        record = self.uploaded_files.get(request.match_info["file_id"])
        if record is None or record.completed:
            return web.Response(status=404, text="file not found", content_type="text/plain")
        if request.content_type == "multipart/form-data":
            data = await _first_part(request)
        else:
            data = await request.read()

        def store() -> None:
            record.data = data
            record.uploads += 1

        await self._notify(store)
        return web.Response(text=f"OK - {len(data)}", content_type="text/plain")


def _drop_connection(request: web.Request) -> None:
    """Close the connection without an answer, like a network cut."""
    if request.transport is not None:
        request.transport.abort()


async def _first_part(request: web.Request) -> bytes:
    """The bytes of a multipart upload: its file part (``-F filename=@card.png``), else its
    first part."""
    reader = await request.multipart()
    first: bytes | None = None
    async for part in reader:
        if not isinstance(part, aiohttp.BodyPartReader):  # pragma: no cover - nested multipart
            continue
        data = bytes(await part.read(decode=False))
        if part.filename:
            return data
        if first is None:
            first = data
    return first or b""


def _file_items(raw: Any) -> list[dict[str, Any]]:
    """completeUploadExternal's ``files``: a JSON list of ``{"id", "title"}``."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SlackError("invalid_arguments") from None
    if not isinstance(raw, list) or not raw or not all(isinstance(i, dict) for i in raw):
        raise SlackError("invalid_arguments")
    return raw


def _channels_of(body: dict[str, Any]) -> list[str]:
    """Where to share: ``channel_id``, else the comma-separated ``channels``; none: private."""
    if body.get("channel_id"):
        return [str(body["channel_id"])]
    raw = body.get("channels")
    if isinstance(raw, list):
        return [str(c) for c in raw if c]
    return [c.strip() for c in str(raw or "").split(",") if c.strip()]


def _optional(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    return None if value in (None, "") else str(value)
