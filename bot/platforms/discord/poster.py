"""The daily post on Discord: `DiscordPoster`, the `Poster` the scheduler posts through.

Each post carries a nonce derived from the post's key with ``enforce_nonce``, so Discord itself
drops the duplicate of a post retried after a crash; `find_post` looks for an earlier attempt
among the channel's newest messages before a claim taken over from a crashed process re-posts.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import aiohttp
import discord

from bot.platforms.discord import PLATFORM
from bot.platforms.discord.render import is_daily_post, render_daily
from bot.poster import ChannelUnavailable, PostError, RateLimited, text_instead_of_card
from maxims import Maxim

HISTORY_LIMIT = 50  # find_post runs minutes after a crash: the post is among the newest
NONCE_LENGTH = 25  # Discord's limit for a message nonce


def nonce_for(key: str) -> str:
    """A message nonce for a daily post's key: a retry of the same post has the same one."""
    return hashlib.sha256(key.encode()).hexdigest()[:NONCE_LENGTH]


def _day_of(key: str) -> str:
    """The local date at the end of a post key (``...:2026-11-28``), or "" if there is none."""
    tail = key.rsplit(":", 1)[-1]
    try:
        return dt.date.fromisoformat(tail).isoformat()
    except ValueError:
        return ""


def post_error(err: discord.HTTPException | discord.RateLimited) -> PostError:
    """The poster error for a failed Discord call (after discord.py's own retries).

    `discord.RateLimited` is not an `HTTPException`: discord.py raises it instead of waiting
    longer than the client's ``max_ratelimit_timeout``, sometimes before sending anything.
    """
    if isinstance(err, discord.RateLimited):
        return RateLimited(err.retry_after)
    if isinstance(err, discord.Forbidden):
        reason = {50001: "missing access", 50013: "missing permissions"}.get(err.code, "forbidden")
        return ChannelUnavailable(f"{reason} ({err.code})")
    if isinstance(err, discord.NotFound):
        return ChannelUnavailable(f"unknown channel ({err.code})")
    if err.status == 429:
        return RateLimited(1.0)
    return PostError(f"HTTP {err.status} ({err.code})")


class DiscordPoster:
    """Posts the maxim of the day with ``channel.send`` and a nonce Discord de-duplicates."""

    platform = PLATFORM

    def __init__(self, client: discord.Client | None = None) -> None:
        self.client = client  # set by the platform; replaced if it reconnects without an intent

    def _channel(self, channel: str) -> discord.PartialMessageable:
        if self.client is None or self.client.user is None:
            raise PostError("not signed in to Discord")
        if not channel.isdigit():
            raise ChannelUnavailable(f"not a Discord channel id: {channel[:30]}")
        return self.client.get_partial_messageable(int(channel))

    async def post(
        self, channel: str, maxim: Maxim, *, key: str, workspace: str = "", style: str = "text"
    ) -> str:
        """Post and return the message id; Discord errors become `PostError`s.

        `workspace` (the guild) is not needed: one bot token reaches every guild's channels.
        A card-style post goes out as text for now (`text_instead_of_card`).
        """
        target = self._channel(channel)
        text_instead_of_card(PLATFORM, style)
        try:
            message = await target.send(**render_daily(maxim, _day_of(key)), nonce=nonce_for(key))
        except (discord.HTTPException, discord.RateLimited) as err:
            raise post_error(err) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise PostError(f"cannot reach Discord ({type(err).__name__})") from None
        return str(message.id)

    async def find_post(
        self, channel: str, key: str, *, since: dt.datetime, workspace: str = ""
    ) -> str | None:
        """The id of a recent maxim-of-the-day post of ours for the key's date, if any.

        `since` and `workspace` are not needed here: the post carries an enforced nonce (Discord
        refuses a second post with it for a few minutes), and the embed names its date.
        """
        day = _day_of(key)
        target = self._channel(channel)
        me = self.client.user.id if self.client and self.client.user else None
        if not day or me is None:
            return None
        try:
            async for message in target.history(limit=HISTORY_LIMIT):
                if message.author.id == me and any(is_daily_post(e, day) for e in message.embeds):
                    return str(message.id)
        except (discord.HTTPException, discord.RateLimited) as err:
            raise post_error(err) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise PostError(f"cannot reach Discord ({type(err).__name__})") from None
        return None
