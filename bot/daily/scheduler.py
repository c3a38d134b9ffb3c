"""Daily posts: when they are due, and delivering each exactly once.

The database is the source of truth. At start (and whenever subscriptions change) the jobs are
rebuilt from it: one APScheduler job per distinct (local time, time zone), posting to every
channel subscribed at that time, so ten thousand subscriptions need only a few hundred jobs.

Exactly once: each post is claimed in storage under (platform, channel, local date) before it
is sent; the claim is atomic, so two processes never both post. A sweep every minute catches
up on what is due but unclaimed (a process that was down, a time skipped by daylight saving),
retries failed posts with backoff and takes over claims whose owner died.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot import ops
from bot.background import Background
from bot.chat import Clock, channel_key, utc_now
from bot.daily.time_rules import next_instant, scheduled_instant
from bot.log import report_failure
from bot.poster import ChannelUnavailable, Poster, PostError, RateLimited

if TYPE_CHECKING:
    from bot.config import ScheduleConfig
    from bot.storage import PostRecord, Storage, Subscription
    from maxims import Corpus

log = logging.getLogger(__name__)
UTC = dt.UTC
SWEEP_SECONDS = 60


class DailyTrigger(BaseTrigger):  # type: ignore[misc]  # APScheduler 3 ships no type hints
    """Fires once a day at a wall-clock time in a zone, with `scheduled_instant`'s DST rules.

    APScheduler's CronTrigger fires twice on a day when clocks go back and, when they go
    forward, at the skipped time's old-offset reading; this trigger fires exactly once.
    """

    def __init__(self, at: dt.time, zone: str) -> None:
        self.at = at
        self.zone = ZoneInfo(zone)

    def get_next_fire_time(
        self, previous_fire_time: dt.datetime | None, now: dt.datetime
    ) -> dt.datetime:
        """Next instant after the previous fire (or from now on)."""
        after = previous_fire_time or (now - dt.timedelta(microseconds=1))
        return next_instant(max(after, now - dt.timedelta(microseconds=1)), self.at, self.zone)

    def __str__(self) -> str:
        return f"daily at {self.at:%H:%M} {self.zone.key}"


def slot_of(sub: Subscription) -> tuple[dt.time, str]:
    """The (local time, zone) group a subscription is posted with."""
    return (sub.time, sub.timezone)


def post_key(platform: str, channel: str, day: dt.date) -> str:
    """The idempotency key of one daily post."""
    return f"maxim-daily:{platform}:{channel}:{day.isoformat()}"


class DailyScheduler:
    """Schedules and delivers the daily posts of every subscription in storage."""

    def __init__(
        self,
        *,
        storage: Storage,
        posters: Mapping[str, Poster],
        corpus: Corpus,
        config: ScheduleConfig,
        clock: Clock = utc_now,
        owner: str | None = None,
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.storage = storage
        self.sweep_seconds = sweep_seconds
        self.posters = dict(posters)
        self.corpus = corpus
        self.config = config
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._slots: set[tuple[dt.time, str]] = set()
        self._semaphore = asyncio.Semaphore(config.max_concurrent_posts)
        self._not_before: dict[str, float] = {}  # platform -> monotonic time of its rate limit
        self.background = Background("scheduler")
        self._reload_lock = asyncio.Lock()

    @property
    def running(self) -> bool:
        """Whether the APScheduler loop is running (for health checks)."""
        return bool(self.scheduler.running)

    async def start(self) -> None:
        """Build jobs from storage, start APScheduler, and catch up on anything due."""
        await self.reload()
        self.scheduler.add_job(
            self.sweep,
            IntervalTrigger(seconds=self.sweep_seconds, timezone=UTC),
            id="sweep",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(int(self.sweep_seconds), 1),
        )
        self.scheduler.start()
        log.info("scheduler started: %d job(s) for %s", len(self._slots), ", ".join(self.posters))
        self.background.spawn(self.sweep(), "the catch-up sweep")

    async def stop(self) -> None:
        """Stop firing jobs and wait for posts already under way."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.background.drain()

    async def reload(self) -> None:
        """Make the jobs match the subscriptions in storage (call after any change)."""
        async with self._reload_lock:
            subs = await self.storage.list_subscriptions()
            self._apply_slots({slot_of(s) for s in subs if s.platform in self.posters})
            ops.record_subscriptions(self.posters, (s.platform for s in subs))

    def _apply_slots(self, wanted: set[tuple[dt.time, str]]) -> None:
        for at, zone in self._slots - wanted:
            self.scheduler.remove_job(self._job_id(at, zone))
        for at, zone in sorted(wanted - self._slots):
            self.scheduler.add_job(
                self.run_slot,
                DailyTrigger(at, zone),
                args=(at, zone),
                id=self._job_id(at, zone),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(self.config.catch_up_minutes * 60) or 1,
            )
        self._slots = wanted

    @staticmethod
    def _job_id(at: dt.time, zone: str) -> str:
        return f"daily {at:%H:%M} {zone}"

    async def run_slot(self, at: dt.time, zone: str) -> None:
        """Post to every channel subscribed at (at, zone); the job APScheduler runs."""
        try:
            subs = [
                s
                for s in await self.storage.list_subscriptions()
                if slot_of(s) == (at, zone) and s.platform in self.posters and not s.failing
            ]
            today = self.clock().astimezone(ZoneInfo(zone)).date()
            await self.fan_out([(s, today) for s in subs])
        except Exception:
            report_failure(log, f"daily slot {at:%H:%M} {zone}")

    def due(self, sub: Subscription, now: dt.datetime) -> dt.date | None:
        """Today's local date if its post time passed within the catch-up window, else None.

        Only today counts: a process that comes back after midnight never posts yesterday's.
        """
        zone = ZoneInfo(sub.timezone)
        today = now.astimezone(zone).date()
        start = scheduled_instant(today, sub.time, zone)
        grace = dt.timedelta(minutes=self.config.catch_up_minutes)
        return today if start <= now < start + grace else None

    async def sweep(self) -> None:
        """Catch up on due posts, retry failed ones, take over abandoned claims."""
        try:
            now = self.clock()
            subs = await self.storage.list_subscriptions()
            await self._refresh_slots(subs)
            # Local dates run from UTC-12 to UTC+14: yesterday in UTC covers every zone's today.
            since = now.date() - dt.timedelta(days=1)
            posts = {
                (p.platform, p.channel, p.local_date): p
                for p in await self.storage.list_posts(since=since)
            }
            work: list[tuple[Subscription, dt.date]] = []
            for sub in subs:
                if sub.platform not in self.posters or sub.failing:
                    continue
                day = self.due(sub, now)
                if day is None:
                    continue
                record = posts.get((sub.platform, sub.channel, day))
                if record is None or self._claimable(record, now):
                    work.append((sub, day))
            if work:
                log.info("sweep: %d daily post(s) to deliver", len(work))
                await self.fan_out(work)
        except Exception:
            report_failure(log, "daily sweep")

    async def _refresh_slots(self, subs: Sequence[Subscription]) -> None:
        # Another process may have changed subscriptions: pick that up within a minute.
        wanted = {slot_of(s) for s in subs if s.platform in self.posters}
        ops.record_subscriptions(self.posters, (s.platform for s in subs))
        if wanted != self._slots:
            async with self._reload_lock:
                self._apply_slots(wanted)

    @staticmethod
    def _claimable(record: PostRecord, now: dt.datetime) -> bool:
        if record.state == "claimed":
            return record.lease_until <= now
        if record.state == "failed":
            return record.next_attempt_at is not None and record.next_attempt_at <= now
        return False

    async def fan_out(self, work: Iterable[tuple[Subscription, dt.date]]) -> None:
        """Deliver many posts with bounded concurrency (slash commands keep flowing)."""
        await asyncio.gather(*(self._deliver_bounded(sub, day) for sub, day in work))

    async def _deliver_bounded(self, sub: Subscription, day: dt.date) -> None:
        async with self._semaphore:
            try:
                await self.deliver(sub, day)
            except Exception:
                report_failure(log, f"daily post to {sub.platform} {sub.channel}")

    async def deliver(self, sub: Subscription, day: dt.date) -> bool:
        """Claim and post one daily maxim; True if this call posted it."""
        poster = self.posters[sub.platform]
        maxim = self.corpus.for_day(day, channel_key(sub.platform, sub.channel))
        record = await self.storage.claim_post(
            sub.platform,
            sub.channel,
            day,
            maxim.number,
            owner=self.owner,
            now=self.clock(),
            lease=dt.timedelta(seconds=self.config.claim_timeout_seconds),
        )
        if record is None:
            return False  # posted already, or another process has it
        # A retried claim keeps the number its first attempt used (it may have gone out).
        maxim = self.corpus.get(record.maxim_number) or maxim
        key = post_key(sub.platform, sub.channel, day)
        if record.attempts > 1:
            ops.record_daily_post(sub.platform, "taken_over")
            # An earlier attempt may have reached the platform before its owner died.
            existing = await poster.find_post(sub.channel, key)
            if existing is not None:
                await self._complete(sub, day, existing)
                log.info("daily post to %s %s was already there", sub.platform, sub.channel)
                ops.record_daily_post(sub.platform, "duplicate_avoided")
                return False
        try:
            message_id = await self._post_honouring_limits(poster, sub.channel, maxim, key)
        except ChannelUnavailable as err:
            log.warning(
                "daily post to %s %s failed for good (%s); marking the subscription failing",
                sub.platform,
                sub.channel,
                err.reason,
            )
            await self._fail(sub, day, err.reason, retry_at=None)
            ops.record_daily_post(sub.platform, "failed")
            await self.storage.mark_subscription_failing(sub.platform, sub.channel, err.reason)
            return False
        except Exception as err:
            reason = err.reason if isinstance(err, PostError) else type(err).__name__
            retry_at = self._retry_at(record.attempts)
            log.warning(
                "daily post to %s %s failed (%s, attempt %d); %s",
                sub.platform,
                sub.channel,
                reason,
                record.attempts,
                f"retrying at {retry_at:%H:%M:%S} UTC" if retry_at else "giving up",
            )
            await self._fail(sub, day, reason, retry_at=retry_at)
            ops.record_daily_post(sub.platform, "failed")
            return False
        await self._complete(sub, day, message_id)
        log.info("posted maxim %d to %s %s for %s", maxim.number, sub.platform, sub.channel, day)
        ops.record_daily_post(sub.platform, "posted")
        return True

    async def _complete(self, sub: Subscription, day: dt.date, message_id: str) -> None:
        await self.storage.complete_post(
            sub.platform,
            sub.channel,
            day,
            owner=self.owner,
            message_id=message_id,
            now=self.clock(),
        )

    async def _fail(
        self, sub: Subscription, day: dt.date, reason: str, *, retry_at: dt.datetime | None
    ) -> None:
        await self.storage.fail_post(
            sub.platform,
            sub.channel,
            day,
            owner=self.owner,
            error=reason,
            now=self.clock(),
            retry_at=retry_at,
        )

    def _retry_at(self, attempts: int) -> dt.datetime | None:
        if attempts >= self.config.retry_limit:
            return None
        return self.clock() + dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))

    async def _post_honouring_limits(
        self, poster: Poster, channel: str, maxim: Any, key: str
    ) -> str:
        """Post, waiting out rate limits; one limit pauses every post to that platform.

        Waiting is not failing: limits are waited out for up to half the claim's lease, so a
        busy minute never turns into failed posts (the lease must outlive the wait).
        """
        budget = time.monotonic() + self.config.claim_timeout_seconds / 2
        while True:
            wait = self._not_before.get(poster.platform, 0.0) - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await poster.post(channel, maxim, key=key)
            except RateLimited as limit:
                until = time.monotonic() + limit.retry_after
                if until > budget:
                    raise PostError("rate limited for too long") from None
                if until > self._not_before.get(poster.platform, 0.0):
                    self._not_before[poster.platform] = until
                log.debug("rate limited on %s; waiting %.2fs", poster.platform, limit.retry_after)
                ops.record_rate_limited(poster.platform)
