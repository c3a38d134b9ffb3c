"""`/maxim daily ...`: showing and changing a channel's daily post, for every platform.

The rule that only administrators change the schedule, and its refusal message, live here;
each adapter supplies the "is this user an admin" check for its platform (Slack: workspace
admins/owners or ``slack.admins``; Discord: Manage Channels; console: the person at the keyboard).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.chat import Clock, IsAdmin, Origin, utc_now
from bot.config import DailyConfig, valid_timezone
from bot.daily.time_rules import describe_next, describe_when, next_instant
from bot.storage import Subscription
from maxims import Reply, TextReply
from maxims.query import DailyOff, DailySet, DailyShow, Query, safe_echo
from maxims.weekdays import EVERY_DAY, describe_days, parse_days

if TYPE_CHECKING:
    from bot.storage import Storage

log = logging.getLogger(__name__)
DEFAULT_TIMEZONE = "UTC"
DEFAULT_STYLE = "text"  # a new daily post without `card` is text, as before cards existed
FROM_CONFIG = (
    "This channel’s daily post is set in the bot’s config file (a [[daily]] entry): ask "
    "whoever runs the bot to remove it there. (Setting a new time here overrides it.)"
)
ADMINS_ONLY = (
    "Only admins can change the daily post (workspace admins on Slack, people with Manage "
    "Channels on Discord). `/maxim daily` shows the current setting."
)


class DailySubscriptions:
    """Handles the daily-post queries against storage and tells the scheduler of changes."""

    def __init__(
        self,
        storage: Storage,
        on_change: Callable[[], Awaitable[None]],
        *,
        clock: Clock = utc_now,
        command: str = "/maxim",
    ) -> None:
        self.storage = storage
        self.on_change = on_change
        self.clock = clock
        self.command = command

    async def schedule_of(self, origin: Origin) -> tuple[str, int, str] | None:
        """The channel's daily-post zone, days (a weekday mask) and next post, if it has one.

        The next post reads ``Mon 07 Dec 09:00 Europe/Berlin``: `/maxim today` on a day
        without a post says when the maxim it shows will be posted.
        """
        sub = await self.storage.get_subscription(origin.platform, origin.channel)
        if sub is None:
            return None
        return sub.timezone, sub.days, describe_next_post(sub, self.clock())

    async def handle(self, origin: Origin, query: Query, is_admin: IsAdmin) -> Reply:
        """Answer `/maxim daily`, `/maxim daily off` or `/maxim daily HH:MM [Area/City]`."""
        if isinstance(query, DailyShow):
            return await self._show(origin)
        if not await is_admin():
            log.info("refused a daily-post change by %s on %s", origin.user, origin.platform)
            return TextReply(ADMINS_ONLY, "error")
        if isinstance(query, DailyOff):
            current = await self.storage.get_subscription(origin.platform, origin.channel)
            if current is not None and current.source == "config":
                # Deleting it would only last until the next start re-reads the config.
                return TextReply(FROM_CONFIG, "notice")
            removed = await self.storage.delete_subscription(origin.platform, origin.channel)
            await self.on_change()
            if not removed:
                return TextReply("This channel had no daily post; nothing to stop.", "notice")
            return TextReply("Stopped: no more daily posts in this channel.", "notice")
        if not isinstance(query, DailySet):
            raise TypeError(f"not a daily query: {type(query).__name__}")
        current = await self.storage.get_subscription(origin.platform, origin.channel)
        zone = query.timezone or (current.timezone if current else DEFAULT_TIMEZONE)
        style = query.style or (current.style if current else DEFAULT_STYLE)
        days = query.days or (current.days if current else EVERY_DAY)
        thread = query.thread if query.thread is not None else bool(current and current.thread)
        if not valid_timezone(zone):
            return TextReply(
                f"I don’t know the time zone “{safe_echo(zone)}”. Use an IANA name like "
                f"`Europe/Berlin` or `America/New_York`: "
                f"`{self.command} daily 09:00 Europe/Berlin`.",
                "error",
            )
        at = dt.time(query.hour, query.minute)
        now = self.clock()
        await self.storage.save_subscription(
            Subscription(
                platform=origin.platform,
                workspace=origin.workspace,
                enterprise=origin.enterprise,
                channel=origin.channel,
                time=at,
                timezone=zone,
                set_by=origin.user,
                set_at=now,
                style=style,
                days=days,
                thread=thread,
            )
        )
        await self.on_change()
        log.info(
            "daily post set to %s %s %s (%s) on %s by %s",
            at,
            zone,
            describe_days(days),
            style,
            origin.platform,
            origin.user,
        )
        upcoming = describe_next(next_instant(now, at, ZoneInfo(zone), days), zone, now)
        return TextReply(
            f"Done: a maxim of the day will be posted here {'daily ' if days == EVERY_DAY else ''}"
            f"at {at:%H:%M} {zone}{_on(days)}{_as(style)}{_thread(thread)}. Next: {upcoming}.",
            "notice",
        )

    async def _show(self, origin: Origin) -> Reply:
        sub = await self.storage.get_subscription(origin.platform, origin.channel)
        if sub is None:
            return TextReply(
                "This channel has no daily post. An admin can start one with "
                f"`{self.command} daily 09:00 Europe/Berlin`.",
                "notice",
            )
        now = self.clock()
        upcoming = describe_next(next_post(sub, now), sub.timezone, now)
        text = (
            f"Daily post here at {sub.time:%H:%M} {sub.timezone}{_on(sub.days)}"
            f"{_as(sub.style)}{_thread(sub.thread)}. Next: {upcoming}."
        )
        if sub.failing:
            text += (
                f" But posting is failing ({safe_echo(sub.failing, 60)}): check that I’m in this "
                f"channel and may post, then set the time again to resume."
            )
        return TextReply(text, "notice")


def next_post(sub: Subscription, now: dt.datetime) -> dt.datetime:
    """When `sub`'s next daily post is due: strictly after `now`, on one of its local days."""
    return next_instant(now, sub.time, ZoneInfo(sub.timezone), sub.days)


def describe_next_post(sub: Subscription, now: dt.datetime) -> str:
    """``Mon 07 Dec 09:00 Europe/Berlin``: the next post, in the one wording people see.

    `/maxim daily`, `/maxim today` and the Slack Home tab all name it so.
    """
    return describe_when(next_post(sub, now), sub.timezone)


def _on(days: int) -> str:
    """The days, for a status line: nothing for every day (the usual), else `` on weekdays``."""
    return "" if days & EVERY_DAY == EVERY_DAY else f" on {describe_days(days)}"


def _as(style: str) -> str:
    """How the post looks, for the status line: nothing for text (the usual), else the style."""
    return ", as a card" if style == "card" else ""


def _thread(thread: bool) -> str:
    """The thread, for the status line: nothing without one (the usual)."""
    return ", with a thread to talk in" if thread else ""


def config_subscriptions(entries: Sequence[DailyConfig], now: dt.datetime) -> list[Subscription]:
    """The ``[[daily]]`` entries of the config as subscriptions (source "config")."""
    return [
        Subscription(
            platform=e.platform,
            workspace=e.workspace,
            channel=e.channel,
            time=dt.time.fromisoformat(f"{int(e.time.split(':')[0]):02d}:{e.time.split(':')[1]}"),
            timezone=e.timezone,
            set_by="config",
            set_at=now,
            source="config",
            style=e.style,
            days=parse_days(e.days),
            thread=e.thread,
        )
        for e in entries
    ]
