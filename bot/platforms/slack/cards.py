"""Maxim cards on Slack: the PNG uploaded into a channel with slack_sdk's ``files_upload_v2``.

Without a public web address (Socket Mode, or before the ``[web]`` server exists) an image
reaches a Slack channel only as an uploaded file: ``files.getUploadURLExternal``, the upload,
then ``files.completeUploadExternal``, which shares it as one message. That needs the
``files:write`` scope, which installations made before cards lack: they get the text form and
a note asking an admin to reinstall, never an error.

Nothing is shared before the last step, so a refusal from Slack at any step leaves the
channel as it was and the text form can go out instead. A connection cut is different: the
completion may have been applied (slack_sdk retries it, and the retry then finds the file
completed: ``file_not_found``), so the caller must not post the text as well (`Unsure`).

A daily card carries no message metadata (a file message has none), so its file name ends
in a digest of the post's idempotency key (`daily_card_name`): `is_daily_card` recognises an
earlier attempt's file in the channel's history.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cards import CardCache, alt_text, card_filename
from bot.platforms.slack.web import CHANNEL_GONE, error_code
from maxims import Maxim

log = logging.getLogger(__name__)

FILES_SCOPE = "files:write"
MISSING_SCOPE = "missing_scope"
# Slack's answer to a completion it cannot match to an uploaded, uncompleted file: after a
# retried completion, the first one may have shared the card already.
COMPLETED_OR_LOST = "file_not_found"
DIGEST_LENGTH = 12  # hex digits of the key's SHA-256 in a daily card's file name
NO_SCOPE_NOTE = (
    "Shared as text: cards need the files:write permission, so ask a workspace admin to "
    "reinstall the app."
)
NOT_HERE_NOTE = "Shared as text: invite me to this channel (/invite) to share cards here."
FAILED_NOTE = "Shared as text: Slack didn’t take the card just now."
UNSURE_NOTE = (
    "I couldn’t tell whether the card reached the channel: have a look before sharing it again."
)


class CardRefused(Exception):
    """Slack refused the card before sharing it: the text form may go out instead."""

    def __init__(self, code: str, error: SlackApiError | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.error = error  # Slack's answer, when Slack gave one

    @property
    def missing_scope(self) -> bool:
        """The installation lacks ``files:write``: only a reinstall helps."""
        return self.code == MISSING_SCOPE

    @property
    def note(self) -> str:
        """The one line that tells the asker why the text went out instead."""
        if self.missing_scope:
            return NO_SCOPE_NOTE
        if self.code in CHANNEL_GONE:
            return NOT_HERE_NOTE
        return FAILED_NOTE


class Unsure(Exception):
    """The upload was cut off where Slack may have shared the card: post nothing else."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def lacks_files_scope(scopes: Sequence[str] | None) -> bool:
    """Whether an installation's stored bot scopes are known and leave out ``files:write``."""
    return bool(scopes) and FILES_SCOPE not in (scopes or ())


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:DIGEST_LENGTH]


def daily_card_name(maxim: Maxim, key: str) -> str:
    """``maxim-34-1f2e3d4c5b6a.png``: the card's name plus a digest of the daily post's key."""
    return f"{card_filename(maxim).removesuffix('.png')}-{_digest(key)}.png"


def is_daily_card(message: dict[str, Any], key: str) -> bool:
    """Whether a history message shares the daily card of `key` (see `daily_card_name`)."""
    ending = f"-{_digest(key)}.png"
    return any(
        str(shared.get("name") or "").endswith(ending) for shared in message.get("files") or []
    )


async def upload_card(
    client: AsyncWebClient,
    cards: CardCache,
    channel: str,
    maxim: Maxim,
    *,
    filename: str = "",
    comment: str = "",
    thread: str | None = None,
) -> dict[str, Any]:
    """Share `maxim`'s card in `channel`; return the completed file as Slack describes it.

    Raises:
        CardRefused: Slack refused a step; nothing was shared.
        Unsure: cut off where the card may have been shared.

    """
    png = await cards.png(maxim)
    try:
        response = await client.files_upload_v2(
            channel=channel,
            file=png,
            filename=filename or card_filename(maxim),
            title=f"Maxim {maxim.number}",
            alt_txt=alt_text(maxim),
            initial_comment=comment or None,
            thread_ts=thread or None,
        )
    except SlackApiError as err:
        code = error_code(err)
        if code == COMPLETED_OR_LOST:
            raise Unsure(code) from None
        raise CardRefused(code, err) from None
    except SlackRequestError:
        raise CardRefused("upload_failed") from None  # the upload URL answered an error
    except (aiohttp.ClientError, TimeoutError) as err:
        raise Unsure(f"cannot reach Slack ({type(err).__name__})") from None
    files = response.get("files") or [{}]
    return dict(files[0])


def shared_ts(shared: dict[str, Any], channel: str) -> str | None:
    """The ts of the message that shares a completed file in `channel`, when Slack says.

    Slack may answer before it has shared the file (empty ``shares``): None then.
    """
    shares = shared.get("shares") or {}
    for kind in ("public", "private"):
        found = (shares.get(kind) or {}).get(channel) or []
        if found and found[0].get("ts"):
            return str(found[0]["ts"])
    return None


async def share_card(
    client: AsyncWebClient,
    cards: CardCache,
    channel: str,
    maxim: Maxim,
    *,
    comment: str,
    scopes: Sequence[str] | None,
    thread: str | None = None,
) -> str | None:
    """Share a card someone asked for; None once shared, else the note for the text form.

    `scopes` are the installation's stored bot scopes (OAuth), None when unknown: then
    Slack's own ``missing_scope`` tells. A refusal other than the scope is logged once.

    Raises:
        Unsure: as `upload_card`; the caller posts nothing else.

    """
    if lacks_files_scope(scopes):
        log.info("Slack: no files:write in this workspace's installation: sharing the text")
        return NO_SCOPE_NOTE
    try:
        await upload_card(client, cards, channel, maxim, comment=comment, thread=thread)
    except CardRefused as refused:
        if refused.missing_scope:
            log.info("Slack: the bot token lacks files:write: sharing the text")
        else:
            log.warning("Slack: card upload to %s failed (%s): sharing the text", channel, refused)
        return refused.note
    return None
