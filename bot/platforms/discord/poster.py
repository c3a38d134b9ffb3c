"""The daily post on Discord: `DiscordPoster`, the `Poster` the scheduler posts through.

Each post carries a nonce derived from the post's key with ``enforce_nonce``, so Discord itself
drops the duplicate of a post retried after a crash; `find_post` looks for an earlier attempt
among the channel's newest messages before a claim taken over from a crashed process re-posts.

A card-style post is the same message with the card attached and shown as the embed's image
(`with_card`): the same nonce, and the same footer naming the day, so both guards recognise a
card as they do text. Where Discord refuses the file (no Attach Files, too large), the text
form goes out once instead, with that same nonce (`send_card`).

With ``thread = true`` the posted message then opens a public thread named after the maxim
(`open_thread`): only after the post went through, so a thread that cannot be opened (no
Create Public Threads, an outage) costs one log line and never a second post.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Literal

import aiohttp
import discord

from bot.cards import CardCache
from bot.platforms.discord import PLATFORM
from bot.platforms.discord.render import is_daily_post, render_daily, thread_name, with_card
from bot.platforms.discord.uploads import send_card
from bot.poster import PLATFORM_WIDE, ChannelUnavailable, PostError, RateLimited
from maxims import Maxim

log = logging.getLogger(__name__)
THREAD_ARCHIVE_MINUTES: Literal[1440] = (
    1440  # a day: the thread tidies itself away before the next post
)
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


def _forbidden(err: discord.HTTPException | discord.RateLimited) -> bool:
    return isinstance(err, discord.Forbidden)


class DiscordPoster:
    """Posts the maxim of the day with ``channel.send`` and a nonce Discord de-duplicates."""

    platform = PLATFORM
    # discord.py keeps Discord's per-route buckets (a channel's messages among them) and the
    # global limit itself, waiting out every 429 up to `MAX_RATE_LIMIT_WAIT`; only a longer
    # one (or five 429s in a row) reaches the scheduler, and `discord.RateLimited` does not say
    # whether it was global: such a limit pauses every post to Discord, as before.
    rate_limits = PLATFORM_WIDE

    def __init__(
        self, client: discord.Client | None = None, cards: CardCache | None = None
    ) -> None:
        self.client = client  # set by the platform; replaced if it reconnects without an intent
        self.cards = cards if cards is not None else CardCache()  # the service's, shared

    def _channel(self, channel: str) -> discord.PartialMessageable:
        if self.client is None or self.client.user is None:
            raise PostError("not signed in to Discord")
        if not channel.isdigit():
            raise ChannelUnavailable(f"not a Discord channel id: {channel[:30]}")
        return self.client.get_partial_messageable(int(channel))

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
        """Post and return the message id; Discord errors become `PostError`s.

        `workspace` (the guild) is not needed: one bot token reaches every guild's channels.
        `style` ``card`` attaches the card, or falls back to the text (one WARNING line).
        `thread` then opens a thread on the message (`open_thread`), which never raises.
        """
        target = self._channel(channel)
        text = render_daily(maxim, _day_of(key))
        nonce = nonce_for(key)
        try:
            if style == "card":
                carded = with_card(text, maxim, await self.cards.png(maxim))
                message, _ = await send_card(
                    target.send,
                    {**carded, "nonce": nonce},
                    lambda _note: {**text, "nonce": nonce},
                    f"daily post to {channel}",
                )
            else:
                message = await target.send(**text, nonce=nonce)
        except (discord.HTTPException, discord.RateLimited) as err:
            raise post_error(err) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise PostError(f"cannot reach Discord ({type(err).__name__})") from None
        if thread:
            await self.open_thread(channel, message.id, maxim)
        return str(message.id)

    async def open_thread(self, channel: str, message_id: int, maxim: Maxim) -> bool:
        """Open a public thread on the posted message; False (and one log line) if Discord says no.

        discord.py's ``Message.create_thread`` needs the guild cached, which a REST-only
        poster has not: its HTTP call (the same route, rate limits and retries) is used instead.
        """
        if self.client is None:
            return False
        try:
            await self.client.http.start_thread_with_message(
                channel,
                message_id,
                name=thread_name(maxim),
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
            )
        except (discord.HTTPException, discord.RateLimited) as err:
            log.warning(
                "daily post to %s went out without its thread: %s%s",
                channel,
                post_error(err).reason,
                " (the bot needs Create Public Threads)" if _forbidden(err) else "",
            )
            return False
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            log.warning(
                "daily post to %s went out without its thread: cannot reach Discord (%s)",
                channel,
                type(err).__name__,
            )
            return False
        return True

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
