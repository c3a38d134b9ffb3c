"""Sending a card on Discord, and the text form when Discord refuses the file.

A card is a file, and a file needs more than a text message: the bot's Attach Files
permission in a channel, and a body under the upload limit. When Discord refuses the file
(403 Missing Permissions, code 50013; 413 Request entity too large) nothing was created, so
sending the text form once instead shares the maxim without a half-shared message. The
caller learns which form went out, to tell the asker in one line.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import discord

from bot.platforms.discord.render import Message

log = logging.getLogger(__name__)

T = TypeVar("T")

MISSING_PERMISSIONS = 50013
TOO_LARGE = 413
NO_ATTACH_FILES = (
    "I can’t attach files in this channel, so the maxim goes as text: someone with Manage "
    "Channels can give me **Attach Files** here for cards."
)
UPLOAD_FAILED = "Discord didn’t take the card just now, so the maxim goes as text."


def refused_upload(err: discord.HTTPException) -> str | None:
    """Why Discord refused a message for its file (a note for the asker), or None.

    A 403 with code 50013 may also mean Send Messages is missing: then the text form is
    refused too, and the caller handles that as for any text post.
    """
    if err.status == TOO_LARGE:
        return UPLOAD_FAILED
    if isinstance(err, discord.Forbidden) and err.code == MISSING_PERMISSIONS:
        return NO_ATTACH_FILES
    return None


async def send_card(
    send: Callable[..., Awaitable[T]],
    card: Message,
    text: Callable[[str], Message],
    where: str,
) -> tuple[T, str | None]:
    """``send(**card)``, or once the text form if Discord refuses the card's file.

    `text` makes the text form from the note saying why (the caller shows the note in it, or
    apart). Returns what `send` returned and, after a fall-back, that note; the fall-back is
    logged as one WARNING line naming `where`, without a traceback. Other errors propagate.
    """
    try:
        return await send(**card), None
    except discord.HTTPException as err:
        note = refused_upload(err)
        if note is None:
            raise
        log.warning(
            "card refused in %s (HTTP %d, code %d): sending the text", where, err.status, err.code
        )
    return await send(**text(note)), note


def can_attach(interaction: discord.Interaction[Any]) -> bool:
    """Whether the bot may attach files where the interaction happened (its ``app_permissions``).

    Discord computes them for the channel, for server and user installs alike.
    """
    return interaction.app_permissions.attach_files
