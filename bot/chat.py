"""What every chat platform shares: answering `/maxim` and running the message triggers.

The adapters (console, Slack, Discord) pull plain values out of their events, call
`ChatService`, and render what comes back. Nothing platform-specific happens here, so a rule
such as "one answer per event id" or "one NaN answer per cooldown" exists exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, overload
from zoneinfo import ZoneInfo

from cachetools import TTLCache

from bot import ops
from bot.cards import CardCache
from bot.preview import Preview
from bot.storage import describe_outage
from maxims import Corpus, Maxim, MaximReply, Reply, TextReply, answer, parse_query
from maxims.query import Card, DailyOff, DailySet, DailyShow, Query, Stats, Today
from maxims.suggest import suggest_queries
from maxims.triggers import NAN_RULE, Rule, TriggerEngine, pattern_rule
from maxims.weekdays import EVERY_DAY, is_chosen

if TYPE_CHECKING:
    from bot.config import TriggersConfig
    from bot.stats import StatsCounter
    from bot.storage import Storage
    from bot.storage.records import Subscription

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
T = TypeVar("T")
# Slack and Discord drop a command that is not acknowledged within 3 s; an answer not ready
# after this long is acknowledged with "working on it" and sent when it is.
ACK_DEADLINE = 2.0
# `/maxim today` waits this long for the channel's time zone, then answers in UTC: within
# ACK_DEADLINE, so the answer still goes out in the acknowledgement.
ZONE_DEADLINE = 1.5
REFUSED_HOLD_SECONDS = 2.0  # after storage refused (cooldown taken elsewhere), ask again later
# How many channels the local gate and the last answers remember (some 400 bytes each, so a few
# MB at most). Forgetting costs no correctness: storage holds every cooldown, and at worst a
# forgotten channel asks storage once more or hears the maxim it heard last time again.
REMEMBERED_CHANNELS = 10_000
LAST_ANSWER_SECONDS = 86_400.0  # avoiding a repeat matters within the day, not after it
IsAdmin = Callable[[], Awaitable[bool]]
NEXT_POST_NOTE = "the next daily post here: "  # on a day without a post, beside `today`'s maxim
_DAILY_QUERIES = (DailyShow, DailyOff, DailySet)  # a tuple: `A | B` is built on every call


def utc_now() -> dt.datetime:
    """The real clock, timezone-aware UTC (the one place the bot reads it by default)."""
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Origin:
    """Where a command or message came from, in plain values."""

    platform: str
    channel: str
    user: str
    workspace: str = ""
    enterprise: str = ""  # the Slack Enterprise Grid org of the workspace, "" outside one

    @property
    def stats_key(self) -> str:
        """Whose stats this counts in: the workspace or guild, else the channel (console, DM)."""
        return self.workspace or self.channel

    @property
    def channel_key(self) -> str:
        """The key of the channel's maxim-of-the-day order (same as its daily posts)."""
        return channel_key(self.platform, self.channel)

    @property
    def workspace_channel(self) -> str:
        """The channel as storage keys its cooldowns: within its workspace, when there is one.

        One Slack app serves many workspaces (OAuth), so what is remembered of a channel is
        remembered per workspace too.
        """
        return f"{self.workspace}/{self.channel}" if self.workspace else self.channel

    def event(self, event_id: str) -> str:
        """An event's de-duplication key, within its workspace when there is one."""
        return f"{self.workspace}:{event_id}" if self.workspace else event_id


def channel_key(platform: str, channel: str) -> str:
    """The maxim-of-the-day key for a channel: posts and `/maxim today` agree on it."""
    return f"{platform}:{channel}"


async def in_time(
    work: Coroutine[Any, Any, T], deadline: float = ACK_DEADLINE
) -> tuple[asyncio.Future[T], bool]:
    """Start `work` and wait for it at most `deadline` seconds: (its future, whether it is done).

    The race every platform runs against its acknowledgement deadline: answer in the
    acknowledgement when the answer is ready in time, else acknowledge first and answer later
    from the future, which keeps running.
    """
    future = asyncio.ensure_future(work)
    done, _ = await asyncio.wait((future,), timeout=deadline)
    return future, bool(done)


def _forget(future: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of work nobody waits for any more (asyncio would log it)."""
    if not future.cancelled():
        future.exception()


class DailyCommands(Protocol):
    """Handles `/maxim daily ...` (it needs storage and the scheduler)."""

    async def handle(self, origin: Origin, query: Query, is_admin: IsAdmin) -> Reply:
        """Answer one daily-post query."""
        ...

    async def schedule_of(self, origin: Origin) -> tuple[str, int, str] | None:
        """The channel's daily-post zone, days (a weekday mask) and next post, if it has one."""
        ...


def build_trigger_engine(config: TriggersConfig, corpus: Corpus) -> TriggerEngine:
    """The rules from ``[triggers]``: NaN first (unless turned off), then enabled custom rules."""
    rules: list[Rule] = [NAN_RULE] if config.nan else []
    rules += [
        pattern_rule(r.name, r.pattern, r.tags, r.cooldown_seconds)
        for r in config.rules
        if r.enabled
    ]
    return TriggerEngine(rules, corpus, config.cooldown_seconds)


class ChatService:
    """Answers commands and messages for every platform."""

    def __init__(
        self,
        *,
        corpus: Corpus,
        engine: TriggerEngine,
        storage: Storage,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        daily: DailyCommands | None = None,
        cards: CardCache | None = None,
        stats: StatsCounter | None = None,
    ) -> None:
        self.corpus = corpus
        self.engine = engine
        self.storage = storage
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311  # jokes, not cryptography
        self.daily = daily
        self.stats = stats  # None: nothing counted, `/maxim stats` not offered (no storage)
        # One per process: every platform and daily post draws each card once (Pillow loads
        # with the first card drawn, not before).
        self.cards = cards if cards is not None else CardCache()  # an empty cache is falsy

        # Both maps forget what expired, oldest first, in O(1) amortised time on each write, and
        # keep at most `REMEMBERED_CHANNELS` entries (the least recently used go first).
        def timer() -> float:
            return self.clock().timestamp()

        # (platform, channel) -> the number of the channel's last NaN (or other rule's) answer
        self._last_answer: TTLCache[tuple[str, str], int] = TTLCache(
            REMEMBERED_CHANNELS, LAST_ANSWER_SECONDS, timer
        )
        # (platform, channel, rule) -> POSIX time before which storage would refuse anyway; an
        # entry lives as long as the longest cooldown, and is read as it says until then.
        longest = max(map(engine.cooldown_for, engine.rules), default=0.0)
        self._quiet_until: TTLCache[tuple[str, str, str], float] = TTLCache(
            REMEMBERED_CHANNELS, longest, timer
        )
        self._asking: set[tuple[str, str, str]] = set()

    async def today(self, origin: Origin) -> dt.date:
        """The channel's local date: its daily-post zone if it has one, else UTC."""
        return (await self.today_and_days(origin))[0]

    async def today_and_days(self, origin: Origin) -> tuple[dt.date, int, str]:
        """The channel's local date, its posting days (every day without a daily post), and a note.

        The note is empty, except on a day without a post: "the next daily post here: Mon 07
        Dec 09:00 Europe/Berlin", since `today` then shows that post's maxim.

        The date is in the channel's daily-post zone if it has one, else UTC.

        When storage cannot tell in time (an outage, or a host that drops packets: a stale
        pooled connection and a reconnect may each take the query timeout), the answer goes
        on in UTC, with one WARNING. Near midnight that may be a neighbouring day's maxim,
        which beats "Something went wrong" or a missed acknowledgement.
        """
        schedule = await self._schedule_of(self.daily, origin) if self.daily else None
        now = self.clock()
        if schedule is None:
            return now.date(), EVERY_DAY, ""
        zone, days, upcoming = schedule
        today = now.astimezone(ZoneInfo(zone)).date()
        note = "" if is_chosen(today.weekday(), days) else f"{NEXT_POST_NOTE}{upcoming}"
        return today, days, note

    @staticmethod
    async def _schedule_of(daily: DailyCommands, origin: Origin) -> tuple[str, int, str] | None:
        future, done = await in_time(daily.schedule_of(origin), ZONE_DEADLINE)
        if not done:
            # Left to finish by itself (its own timeouts end it): cancelling it mid-query would
            # leave the connection's clean-up to hang in this answer instead.
            future.add_done_callback(_forget)
            log.warning(
                "cannot read the time zone of %s (no answer within %.1f s): using UTC",
                origin.channel,
                ZONE_DEADLINE,
            )
            return None
        try:
            return future.result()
        except Exception as err:
            outage = describe_outage(err)
            if outage is None:
                raise
            log.warning("cannot read the time zone of %s (%s): using UTC", origin.channel, outage)
            return None

    @overload
    async def command(
        self,
        origin: Origin,
        text: str,
        is_admin: IsAdmin,
        *,
        command: str = ...,
        event_id: None = None,
    ) -> Reply: ...

    @overload
    async def command(
        self,
        origin: Origin,
        text: str,
        is_admin: IsAdmin,
        *,
        command: str = ...,
        event_id: str | None,
    ) -> Reply | None: ...

    async def command(
        self,
        origin: Origin,
        text: str,
        is_admin: IsAdmin,
        *,
        command: str = "/maxim",
        event_id: str | None = None,
    ) -> Reply | None:
        """Answer one `/maxim` query (never raises for bad input).

        With an `event_id` (a mention the platform may deliver twice), None when another
        delivery of that event was answered already, here or by another process.
        """
        if event_id is not None and not await self.storage.first_delivery(
            origin.platform, origin.event(event_id), now=self.clock()
        ):
            log.debug("event %s already answered", event_id)
            return None
        query = parse_query(text, command)
        if isinstance(query, _DAILY_QUERIES):
            if self.daily is None:
                return TextReply("Daily posts are not available here.", "error")
            return await self.daily.handle(origin, query, is_admin)
        if isinstance(query, Stats):
            summary = await self.stats_text(origin)
            if summary is None:
                return TextReply("Stats are not available here.", "error")
            return TextReply(summary, "stats")
        # Only `today` needs the channel's zone and days: other answers skip the storage read.
        today, days, note = (
            await self.today_and_days(origin)
            if isinstance(query, Today) or (isinstance(query, Card) and query.query == Today())
            else (self.clock().date(), EVERY_DAY, "")
        )
        reply = answer(
            query,
            corpus=self.corpus,
            today=today,
            rng=self.rng,
            channel_key=origin.channel_key,
            command=command,
            days=days,
        )
        if note and isinstance(reply, MaximReply):
            reply = MaximReply(reply.maxims, reply.kind, reply.words, reply.card, note)
        if self.stats is not None and isinstance(reply, MaximReply):
            self.stats.count(origin.platform, origin.stats_key, "asked", reply.maxims[0].number)
        # DEBUG, not INFO: a line per command cost a busy bot more CPU than the answer itself,
        # and maxim_commands_total counts them by kind (what an operator wants at INFO).
        if log.isEnabledFor(logging.DEBUG):  # else even its `extra` is work for nothing
            log.debug(
                "served %s %s on %s",
                command,
                type(query).__name__,
                origin.platform,
                extra={"platform": origin.platform, "channel": origin.channel},
            )
        return reply

    async def home(
        self,
        origin: Origin,
        zone: dt.tzinfo,
        channels: Callable[[], Awaitable[Collection[str]]],
    ) -> tuple[Maxim, list[Subscription]]:
        """A person's home page: their own maxim of the day, and their channels' daily posts.

        The maxim of the day is the person's (key ``home:USER``) on their local date in `zone`,
        so it turns at their midnight and, like a channel's, does not repeat within a cycle.
        `channels` (those the person shares with the bot) costs the platform a call, so it is
        asked only when the workspace has daily posts at all. Only the origin's workspace's
        posts are read (and those naming none): one deployment may serve thousands.
        """
        today = self.clock().astimezone(zone).date()
        maxim = self.corpus.for_day(today, channel_key(origin.platform, f"home:{origin.user}"))
        posts = await self.storage.list_subscriptions(origin.platform, workspace=origin.workspace)
        if posts:
            theirs = set(await channels())
            posts = [post for post in posts if post.channel in theirs]
        return maxim, posts

    async def stats_text(self, origin: Origin) -> str | None:
        """`/maxim stats` of the origin's workspace as text; None where nothing is counted."""
        if self.stats is None:
            return None
        return await self.stats.summary(origin.platform, origin.stats_key, self.corpus)

    async def first_request(self, platform: str, key: str) -> bool:
        """Whether a request (a signature) is seen for the first time, across processes.

        Storage keeps delivered ids for a day, well over any platform's replay window.
        """
        return await self.storage.first_delivery(platform, key, now=self.clock())

    def shared(self, origin: Origin, maxim: Maxim) -> None:
        """Someone shared `maxim` from their preview (Send / Post): a metric, and a count."""
        ops.record_share(origin.platform)
        if self.stats is not None:
            self.stats.count(origin.platform, origin.stats_key, "shared", maxim.number)

    async def close(self) -> None:
        """Let the counts under way finish (briefly): the bot is stopping."""
        if self.stats is not None:
            await self.stats.close()

    def suggest(self, current: str) -> list[tuple[str, str]]:
        """Autocomplete for a query being typed: (name, value) pairs (see `maxims.suggest`)."""
        return suggest_queries(self.corpus, current)

    def preview(self, encoded: str) -> Preview | None:
        """The preview a button carried, or None when it is malformed or out of date."""
        return Preview.decode(encoded, self.corpus)

    def shuffle(self, encoded: str) -> Preview | None:
        """Shuffle / Another: the preview after the one a button carried (None: out of date)."""
        preview = self.preview(encoded)
        return None if preview is None else preview.another(self.corpus, self.rng)

    async def message(
        self, origin: Origin, text: str, *, event_id: str | None = None
    ) -> Maxim | None:
        """The maxim to answer a chat message with, or None (most messages).

        Cheap when nothing matches: no storage call unless a rule fires. Storage then decides
        (the event is claimed once, as platforms re-deliver, and the channel's cooldown is taken
        atomically), so several processes answer a burst of NaN exactly once. A local gate in
        front of it skips a channel that just answered (for its cooldown), that storage just
        refused (for `REFUSED_HOLD_SECONDS`) or that is being asked about right now, so a log
        paste full of NaN costs one database round trip, not one per line.
        """
        rule = self.engine.match(text)
        if rule is None:
            return None
        now = self.clock()
        key = (origin.platform, origin.workspace_channel, rule.name)
        cooldown = self.engine.cooldown_for(rule)
        if cooldown > 0:
            if key in self._asking or now.timestamp() < self._quiet_until.get(key, 0.0):
                ops.record_trigger(origin.platform, rule.name, answered=False)
                return None
            self._asking.add(key)
        try:
            maxim = await self._answer_message(origin, rule, now, event_id)
        except Exception as err:
            # Nobody asked for this answer: during an outage, skipping it beats an apology.
            outage = describe_outage(err)
            if outage is None:
                raise
            log.warning("rule %s not answered: the database is unreachable (%s)", rule.name, outage)
            maxim = None
        finally:
            self._asking.discard(key)
        if cooldown > 0:
            hold = cooldown if maxim is not None else min(cooldown, REFUSED_HOLD_SECONDS)
            self._quiet_until[key] = now.timestamp() + hold
        if maxim is not None:
            ops.record_trigger(origin.platform, rule.name, answered=True)
            if self.stats is not None and rule.name == NAN_RULE.name:
                self.stats.count(origin.platform, origin.stats_key, "nan", maxim.number)
        return maxim

    async def _answer_message(
        self, origin: Origin, rule: Rule, now: dt.datetime, event_id: str | None
    ) -> Maxim | None:
        if event_id is not None and not await self.storage.first_delivery(
            origin.platform, origin.event(event_id), now=now
        ):
            log.debug("event %s already answered", event_id)
            return None
        if not await self.storage.take_cooldown(
            origin.platform,
            origin.workspace_channel,
            rule.name,
            now=now,
            seconds=self.engine.cooldown_for(rule),
        ):
            log.debug("rule %s cooling down in %s", rule.name, origin.channel)
            ops.record_trigger(origin.platform, rule.name, answered=False)
            return None
        key = (origin.platform, origin.workspace_channel)
        maxim = self.engine.pick(rule, self.rng, avoid=self._last_answer.get(key))
        self._last_answer[key] = maxim.number
        log.info(
            "rule %s answered with maxim %d on %s",
            rule.name,
            maxim.number,
            origin.platform,
            extra={"platform": origin.platform, "channel": origin.channel},
        )
        return maxim
