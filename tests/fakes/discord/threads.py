"""Threads started from a message on the emulated Discord (discord.py ``Message.create_thread``).

A mixin of `FakeDiscord`. ``POST /channels/{channel_id}/messages/{message_id}/threads`` with
``{"name", "auto_archive_duration", "rate_limit_per_user"}`` starts a public thread whose id is
the message's (as on Discord), records it in `threads` and answers with the thread channel.

What Discord refuses, the emulator refuses:

* no Create Public Threads in the channel (`deny_create_threads`, or the bot's permissions):
  403 "Missing Permissions", code 50013;
* an unknown message: 404, 10008; a second thread on the same message: 400, 160004;
* a name that is empty or over 100 characters: 400, 50035.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tests.fakes.discord.records import _ApiError, _form_error, _Reply
from tests.fakes.discord.wire import CHANNEL_PUBLIC_THREAD, CREATE_PUBLIC_THREADS, FakeChannel

if TYPE_CHECKING:
    import re

    from tests.fakes.discord.records import RecordedRequest
    from tests.fakes.discord.wire import JSON

THREAD_NAME_LIMIT = 100  # Discord's limit for a channel (and thread) name


@dataclass
class RecordedThread:
    """A thread the bot started on a message."""

    id: int
    channel_id: int  # the parent channel
    message_id: int
    name: str
    auto_archive_duration: int | None


class Threads:
    """Starting threads on messages, with the Create Public Threads switch."""

    threads: list[RecordedThread]
    _no_thread_channels: set[int]

    def deny_create_threads(self, channel_id: int) -> None:
        """Take Create Public Threads from the bot in ``channel_id``: starting one gets 403."""
        self._no_thread_channels.add(channel_id)

    def allow_create_threads(self, channel_id: int) -> None:
        """Give Create Public Threads back to the bot in ``channel_id``."""
        self._no_thread_channels.discard(channel_id)

    async def _start_thread(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        channel = self._channel(int(m[1]))
        self._stored(channel.id, int(m[2]))
        self._check_post_allowed(channel, 0)
        if channel.guild_id is not None:
            perms = self.permissions_for(channel.guild_id, self.bot_id, channel.id)
            if channel.id in self._no_thread_channels or not perms & CREATE_PUBLIC_THREADS:
                raise _ApiError(403, "Missing Permissions", 50013)
        message_id = int(m[2])
        if any(t.message_id == message_id for t in self.threads):
            raise _ApiError(400, "A thread has already been created for this message", 160004)
        body = rec.json if isinstance(rec.json, dict) else {}
        name = body.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= THREAD_NAME_LIMIT:
            raise _form_error(["name"], "BASE_TYPE_BAD_LENGTH", "Must be 1-100 in length.")
        thread = FakeChannel(
            id=message_id,
            name=name,
            type=CHANNEL_PUBLIC_THREAD,
            guild_id=channel.guild_id,
            parent_id=channel.id,
            owner_id=self.bot_id,
        )
        self.channels[thread.id] = thread
        duration = body.get("auto_archive_duration")
        self.threads.append(
            RecordedThread(
                thread.id, channel.id, message_id, name, int(duration) if duration else None
            )
        )
        payload: JSON = thread.payload(self.users)
        payload.update(
            owner_id=str(thread.owner_id),
            thread_metadata={
                "archived": False,
                "auto_archive_duration": int(duration or 1440),
                "archive_timestamp": "2026-01-01T00:00:00+00:00",
                "locked": False,
            },
            message_count=0,
            member_count=1,
        )
        return _Reply(201, payload)
