"""Daily posts: when they are due, and delivering each exactly once.

The database is the source of truth. At start (and whenever subscriptions change) the jobs are
rebuilt from it: one APScheduler job per distinct (local time, time zone), posting to every
channel subscribed at that time, so ten thousand subscriptions need only a few hundred jobs.

Exactly once: each post is claimed in storage under (platform, channel, local date) before it
is sent; the claim is atomic, so two processes never both post. Posts ready together are
claimed together, one statement a batch (`bot.daily.claims`). A sweep every minute catches
up on what is due but unclaimed (a process that was down, a time skipped by daylight saving),
retries failed posts with backoff and takes over claims whose owner died; it reads only the
subscriptions whose stored ``due_at`` has come (`bot.storage.due`), never all of them. Each
process beats every `heartbeat_seconds`; one silent for `MISSED_BEATS` beats is dead, and the
first beat that notices runs a sweep at once, so a crash costs seconds, not the claim's whole
lease.
Silence is measured by the database's clock, never this process's `clock`: a replica whose
clock runs ahead must not find its live peers dead.

APScheduler's jobs only hand work to `Background` and return: a stop then never cancels a
job half-way (no "Job raised" traceback), and `stop` decides what happens to posts under way:
none is claimed any more, those sent finish for `stop_grace_seconds`, the rest are given back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import zlib
from collections.abc import Coroutine, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import ops
from bot.background import Background
from bot.chat import Clock, channel_key, utc_now
from bot.daily.claims import ClaimBatcher
from bot.daily.pacing import Pacing, Stopping, Timer
from bot.daily.post_schedule import (
    DailyTrigger,
    claimable,
    due_changes,
    due_date,
    new_owner_id,
    post_key,
    retry_time,
    slot_days,
)
from bot.daily.time_rules import posts_on, scheduled_instant
from bot.log import report_failure
from bot.poster import ChannelUnavailable, Poster, PostError
from bot.storage import WantedPost

if TYPE_CHECKING:
    from bot.config import ScheduleConfig
    from bot.stats import StatsCounter
    from bot.storage import Storage, Subscription
    from maxims import Corpus

log = logging.getLogger(__name__)
UTC = dt.UTC
MISSED_BEATS = 3  # a process this many heartbeats late is dead: one late beat is only a hiccup
PRUNE_EVERY = dt.timedelta(days=1)
COMPUTE_CHUNK = 2000  # subscriptions whose due_at a sweep computes per read: bounded memory
COMPUTE_ROUNDS = 500  # up to a million rows (after the upgrade to 0010) in one sweep


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
        sweep_seconds: float | None = None,
        keep_days: int = 400,
        cooldowns_older_than: dt.timedelta = dt.timedelta(days=1),
        stats: StatsCounter | None = None,
        timer: Timer | None = None,
    ) -> None:
        """`keep_days` and `cooldowns_older_than` say what the daily pruning keeps.

        `sweep_seconds` overrides ``config.sweep_seconds``, below the 1 s the config allows
        (the scheduler's own tests sweep every 50 ms). `timer`: how rate-limit waits pass.
        """
        self.storage = storage
        self.sweep_seconds = config.sweep_seconds if sweep_seconds is None else sweep_seconds
        self.posters = dict(posters)
        self.corpus = corpus
        self.config = config
        self.clock = clock
        self.owner = owner or new_owner_id()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._slots: set[tuple[dt.time, str]] = set()
        self._slot_days: dict[tuple[dt.time, str], int] = {}  # the days a slot's job fires on
        self.background = Background("scheduler")
        self._reload_lock = asyncio.Lock()
        self.keep_days = keep_days
        self.cooldowns_older_than = cooldowns_older_than
        self.stats = stats  # counts each post sent (`bot.stats`), beside the post
        self.dead_after = dt.timedelta(seconds=config.heartbeat_seconds * MISSED_BEATS)
        self._stopping = asyncio.Event()
        self.pacing = Pacing.for_config(config, self._stopping, timer)
        self._sweep_lock = asyncio.Lock()
        self._sweep_wanted = False
        self._dead_seen: set[str] = set()
        self._next_prune: dt.datetime | None = None
        lease = dt.timedelta(seconds=config.claim_timeout_seconds)
        self.claims = ClaimBatcher(
            storage,
            owner=self.owner,
            clock=clock,
            lease=lease,
            dead_after=self.dead_after,
            busy=lambda: self.pacing.on_the_way > 0,
        )
        self._changed: str | None = None  # the subscriptions' change token the jobs reflect

    @property
    def running(self) -> bool:
        """Whether the APScheduler loop is running (for health checks)."""
        return bool(self.scheduler.running)

    async def start(self) -> None:
        """Beat once, build jobs from storage, start APScheduler, and catch up on anything due.

        The first beat comes before any claim, so no claim of ours looks like one of an
        owner that never beat (those wait out their lease).
        """
        await self.storage.beat(self.owner)
        await self.reload()
        for job, seconds in ((self._fire_sweep, self.sweep_seconds), (self._fire_beat, None)):
            every = seconds or self.config.heartbeat_seconds
            self.scheduler.add_job(
                job,
                IntervalTrigger(seconds=every, timezone=UTC),
                id="sweep" if seconds else "heartbeat",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=max(int(every), 1),
            )
        self.scheduler.start()
        log.info("scheduler started: %d job(s) for %s", len(self._slots), ", ".join(self.posters))
        self._request_sweep()

    async def stop(self, *, finish_work: bool = False) -> None:
        """Claim nothing more, let sent posts finish (with a grace), give back the rest.

        Every claim taken but not posted is released, so another process, or this one after
        a restart, posts it at once; then this process is marked stopped, so whatever might
        still carry its name is taken over at once too. With `finish_work` (nobody asked us
        to hurry: the console's input ended) the work under way is completed first.
        """
        if self._stopping.is_set():
            return
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if finish_work:
            await self.background.drain()
        self._stopping.set()
        log.info("scheduler stopping: posts under way get %gs", self.config.stop_grace_seconds)
        await self.background.close(timeout=self.config.stop_grace_seconds)
        try:
            await self.storage.mark_stopped(self.owner)
        except Exception:
            log.warning("could not mark %s stopped; its claims wait for its lease", self.owner)
        log.info("scheduler stopped")

    def _spawn(self, work: Coroutine[Any, Any, None], what: str) -> None:
        if self._stopping.is_set():
            work.close()
            return
        self.background.spawn(work, what)

    async def _fire_slot(self, at: dt.time, zone: str) -> None:
        """The APScheduler job: hand the fan-out to `background` and return at once."""
        self._spawn(self.run_slot(at, zone), f"daily slot {at:%H:%M} {zone}")

    async def _fire_beat(self) -> None:
        self._spawn(self.heartbeat(), "the heartbeat")

    async def _fire_sweep(self) -> None:
        # A coroutine on purpose: APScheduler runs a plain function in a worker thread, where
        # there is no event loop to start the sweep on.
        self._request_sweep()

    def _request_sweep(self) -> None:
        """Sweep soon; a request made while a sweep runs makes it run once more afterwards."""
        self._sweep_wanted = True
        if not self._sweep_lock.locked():
            self._spawn(self._sweep_while_wanted(), "the sweep")

    async def _sweep_while_wanted(self) -> None:
        async with self._sweep_lock:
            while self._sweep_wanted and not self._stopping.is_set():
                self._sweep_wanted = False
                await self._sweep()

    async def heartbeat(self) -> None:
        """Say we are alive; when another process has just died, take over its claims now."""
        await self.storage.beat(self.owner)
        dead = await self.storage.dead_owners(dead_after=self.dead_after)
        fresh, self._dead_seen = dead - self._dead_seen, dead
        if fresh:
            log.info("%d process(es) stopped beating; sweeping for their claims", len(fresh))
            self._request_sweep()

    async def reload(self) -> None:
        """Make the jobs match the subscriptions in storage (call after any change)."""
        async with self._reload_lock:
            self._changed = await self.storage.subscriptions_changed()  # before the read
            slots = await self.storage.subscription_slots()  # counted in SQL, none held here
            self._apply_slots(slot_days(slots, self.posters))
            ops.record_subscriptions(
                self.posters, (s.platform for s in slots for _ in range(s.count))
            )

    def _apply_slots(self, wanted: Mapping[tuple[dt.time, str], int]) -> None:
        for at, zone in self._slots - wanted.keys():
            self.scheduler.remove_job(self._job_id(at, zone))
        for slot, days in wanted.items():
            if slot in self._slots and self._slot_days.get(slot) != days:
                self.scheduler.reschedule_job(
                    self._job_id(*slot), trigger=DailyTrigger(*slot, days)
                )
        for at, zone in sorted(wanted.keys() - self._slots):
            self.scheduler.add_job(
                self._fire_slot,
                DailyTrigger(at, zone, wanted[at, zone]),
                args=(at, zone),
                id=self._job_id(at, zone),
                coalesce=True,
                max_instances=1,
                misfire_grace_time=int(self.config.catch_up_minutes * 60) or 1,
            )
        self._slots = set(wanted)
        self._slot_days = dict(wanted)

    @staticmethod
    def _job_id(at: dt.time, zone: str) -> str:
        return f"daily {at:%H:%M} {zone}"

    async def run_slot(self, at: dt.time, zone: str) -> None:
        """Post to every channel subscribed at (at, zone); the job APScheduler runs."""
        try:
            today = self.clock().astimezone(ZoneInfo(zone)).date()
            subs = [
                s
                for s in await self.storage.slot_subscriptions(at, zone)
                if s.platform in self.posters
                and not s.failing
                and posts_on(today, s.days)  # the slot fires for its other channels' days
            ]
            await self.fan_out(await self._spread([(s, today) for s in subs]))
        except Exception:
            report_failure(log, f"daily slot {at:%H:%M} {zone}")

    async def sweep(self) -> None:
        """Catch up on due posts, retry failed ones, take over claims of dead processes."""
        async with self._sweep_lock:
            await self._sweep()

    async def _sweep(self) -> None:
        await self._prune_daily()
        try:
            now = self.clock()
            if await self.storage.subscriptions_changed() != self._changed:
                await self.reload()  # another process changed subscriptions: within a minute
            grace = dt.timedelta(minutes=self.config.catch_up_minutes)
            await self._compute_due(now, grace)
            read = await self.storage.due_subscriptions(now=now, platforms=list(self.posters))
            if not read:
                return  # most minutes: the due_at index finds nothing, nothing else is read
            due = [(d.sub, day) for d in read if (day := due_date(d.sub, now, grace)) is not None]
            posts = await self.storage.posts_for((s.platform, s.channel, d) for s, d in due)
            await self.storage.set_due_at(due_changes(read, posts, now, grace))
            if not due:
                return
            dead = await self.storage.dead_owners(dead_after=self.dead_after)
            work = [
                (sub, day)
                for sub, day in due
                if (record := posts.get((sub.platform, sub.channel, day))) is None
                or claimable(record, now, dead)
            ]
            if work:
                log.info("sweep: %d daily post(s) to deliver", len(work))
                await self.fan_out(await self._spread(work))
        except Exception:
            report_failure(log, "daily sweep")

    async def _compute_due(self, now: dt.datetime, grace: dt.timedelta) -> None:
        """Compute `due_at` where it is missing (new or changed subscriptions), by chunks."""
        for _ in range(COMPUTE_ROUNDS):  # bounded: rows changed again meanwhile come back
            fresh = await self.storage.due_subscriptions(
                now=None, platforms=list(self.posters), limit=COMPUTE_CHUNK
            )
            await self.storage.set_due_at(due_changes(fresh, {}, now, grace))
            if len(fresh) < COMPUTE_CHUNK:
                return

    async def _spread(
        self, work: list[tuple[Subscription, dt.date]]
    ) -> list[tuple[Subscription, dt.date]]:
        """Replicas share a minute's posts: each its own part first, then the others' backwards.

        Each live replica takes a part of the channels by a stable hash, so two replicas
        seldom ask for the same post; one that finishes early helps the others from their
        parts' ends, and a dead one's part is done by the rest.
        """
        owners = sorted(await self.storage.live_owners(dead_after=self.dead_after) | {self.owner})
        rank, parts = owners.index(self.owner), len(owners)

        def order(item: tuple[Subscription, dt.date]) -> tuple[int, int]:
            spot = zlib.crc32(f"{item[0].platform}:{item[0].channel}".encode())
            part = (spot - rank) % parts
            return part, spot if part == 0 else -spot

        return sorted(work, key=order)

    async def _prune_daily(self) -> None:
        """Once a day per process: old post records, ended cooldowns, old event ids."""
        now = self.clock()
        if self._next_prune is not None and now < self._next_prune:
            return
        self._next_prune = now + PRUNE_EVERY
        try:
            await self.storage.prune(
                now=now, keep_days=self.keep_days, cooldowns_older_than=self.cooldowns_older_than
            )
        except Exception:
            report_failure(log, "pruning storage")

    async def fan_out(self, work: Iterable[tuple[Subscription, dt.date]]) -> None:
        """Deliver many posts with bounded concurrency (slash commands keep flowing).

        A task group, not `gather`: cancelled at a stop, it waits until every post has given
        its claim back, where `gather` would return at the first one.
        """
        async with asyncio.TaskGroup() as group:
            for sub, day in work:
                group.create_task(self._deliver_bounded(sub, day))

    async def _deliver_bounded(self, sub: Subscription, day: dt.date) -> None:
        # Per workspace first, then a ready place (`Pacing.slot`), and only then the claim.
        async with self.pacing.slot(self.posters[sub.platform], sub):
            if self._stopping.is_set():
                return
            try:
                await self.deliver(sub, day)
            except Exception:
                report_failure(log, f"daily post to {sub.platform} {sub.channel}")

    async def deliver(self, sub: Subscription, day: dt.date) -> bool:
        """Claim and post one daily post; True if this call posted it."""
        if self._stopping.is_set():
            return False
        poster = self.posters[sub.platform]
        maxim = self.corpus.for_day(day, channel_key(sub.platform, sub.channel), sub.days)
        record = await self.claims.claim(WantedPost(sub.platform, sub.channel, day, maxim.number))
        if record is None:
            return False  # posted already, or another process has it
        # A retried claim keeps the number its first attempt used (it may have gone out).
        maxim = self.corpus.get(record.maxim_number) or maxim
        key = post_key(sub.platform, sub.channel, day)
        try:
            if record.attempts > 1:
                ops.record_daily_post(sub.platform, "taken_over")
                # An earlier attempt may have reached the platform before its owner died.
                since = scheduled_instant(day, sub.time, ZoneInfo(sub.timezone))
                existing = await poster.find_post(
                    sub.channel, key, since=since, workspace=sub.workspace
                )
                if existing is not None:
                    await self._complete(sub, day, existing)
                    log.info("daily post to %s %s was already there", sub.platform, sub.channel)
                    ops.record_daily_post(sub.platform, "duplicate_avoided")
                    return False
            message_id = await self.pacing.post(poster, sub, maxim, key)
        except Stopping:
            await self._release(sub, day, attempted=False)
            return False
        except asyncio.CancelledError:
            # Cut off after the grace: it may have reached the platform, so the next owner
            # looks for it there before posting.
            await self._release(sub, day, attempted=key in self.pacing.cut_off)
            self.pacing.cut_off.discard(key)
            raise
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
            retry_at = retry_time(self.clock(), record.attempts, self.config.retry_limit)
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
        if self.stats is not None:
            self.stats.count(sub.platform, sub.workspace or sub.channel, "posted", maxim.number)
        return True

    async def _complete(self, sub: Subscription, day: dt.date, message_id: str) -> None:
        await self.claims.complete((sub.platform, sub.channel, day), message_id)

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

    async def _release(self, sub: Subscription, day: dt.date, *, attempted: bool) -> None:
        await self.storage.release_post(
            sub.platform, sub.channel, day, owner=self.owner, now=self.clock(), attempted=attempted
        )
        log.info("gave back the daily post to %s %s: stopping", sub.platform, sub.channel)
