"""The platform-neutral posting port: what the daily scheduler knows of a chat platform.

Each platform adapter (console, Slack, Discord) provides one `Poster`. The scheduler only ever
sees this protocol and the three errors below, so the exactly-once logic lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import datetime as dt

    from maxims import Maxim


class PostError(Exception):
    """A post did not go through; `permanent` says whether retrying can help."""

    permanent = False

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RateLimited(PostError):
    """The platform asked us to wait `retry_after` seconds before the next call."""

    def __init__(self, retry_after: float, reason: str = "rate limited") -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class ChannelUnavailable(PostError):
    """The channel is gone or the bot may not post there: retrying will not help."""

    permanent = True


@dataclass(frozen=True)
class PostLimits:
    """Where a platform keeps its posting rate limits, so that the scheduler honours them there.

    `per_workspace`: a rate-limit answer pauses only the posts to the workspace it came from
    (Slack limits ``chat.postMessage`` per workspace and channel, not per app); otherwise it
    pauses every post to the platform. `channel_interval`: seconds between two posts to one
    channel (Slack: about one message a second per channel); 0 where the platform's own
    library spaces them (discord.py keeps Discord's per-route buckets and its global limit).
    """

    per_workspace: bool = False
    channel_interval: float = 0.0


PLATFORM_WIDE = PostLimits()  # a limit pauses every post to the platform; no channel spacing


class Poster(Protocol):
    """Posts a maxim to a channel of one platform."""

    platform: str
    rate_limits: PostLimits  # where the platform keeps its rate limits (`bot.daily.pacing`)

    async def post(
        self,
        channel: str,
        maxim: Maxim,
        *,
        key: str,
        workspace: str = "",
        style: str = "text",
        thread: bool = False,
    ) -> str:
        """Post `maxim` to `channel` and return the platform's message id.

        `key` identifies the daily post (platform, channel, local date). Platforms that can
        de-duplicate on it (Discord's enforced nonce, Slack's message metadata) use it.
        `workspace` is the subscription's (Slack team id, Discord guild id; "" when unknown):
        a Slack app installed in many workspaces holds one token per workspace and must post
        with that channel's. `style` is the subscription's: ``text``, or ``card`` for the maxim
        as a picture. `thread` asks for a thread to talk in: opened only after the post went
        out, and a thread that cannot be opened never fails (nor repeats) the post.
        """
        ...

    async def find_post(
        self, channel: str, key: str, *, since: dt.datetime, workspace: str = ""
    ) -> str | None:
        """Return the id of a message already posted with `key`, or None if unknown.

        Called before re-posting a claim whose earlier attempt may have reached the platform
        (a crash between the platform's answer and our database write). No attempt can be
        older than `since` (the post's scheduled instant), so a platform that can page through
        a channel's history from a point in time looks from there on, however busy the channel.
        `workspace` is as for `post`. None means "looked, not there": a platform that cannot
        finish looking raises a `PostError` instead, so the post is retried, never doubled.
        """
        ...
