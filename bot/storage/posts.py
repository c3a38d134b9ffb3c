"""Daily-post claims: who posts which (platform, channel, local date), exactly once.

Each transition is one atomic statement (``INSERT ... ON CONFLICT DO NOTHING`` or a
conditional ``UPDATE ... WHERE ... RETURNING``), so processes sharing a database never both
own a post. A claim is taken over when its owner is dead (its heartbeat in ``processes`` is
stale by the database's clock: seconds, see `bot.storage.processes`), or, for an owner that
never beat, when its lease ran out (by the claimants' clocks, as written): the lease is the
last resort, never the usual way back.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from bot.storage.base import StorageBase
from bot.storage.records import PostRecord, WantedPost
from bot.storage.tables import (
    as_utc,
    daily_posts,
    database_now,
    insert_into,
    post_from_row,
    post_key,
    processes,
    subscriptions,
)

log = logging.getLogger(__name__)


class PostQueries(StorageBase):
    """Claiming, settling, releasing and reading daily posts."""

    async def claim_post(
        self,
        platform: str,
        channel: str,
        local_date: datetime.date,
        maxim_number: int,
        *,
        owner: str,
        now: datetime.datetime,
        lease: datetime.timedelta,
        dead_after: datetime.timedelta | None = None,
    ) -> PostRecord | None:
        """Claim the (platform, channel, local_date) post; the record if we own it, else None.

        Atomic across processes. Claimable when there is no row yet, when a failed post's
        `next_attempt_at` has come, or when a claim's owner is gone (takeover): with
        `dead_after`, an owner whose heartbeat is older than that is dead at once, one that
        beats is never robbed however slow its post, and only an owner that never beat falls
        back to its lease. Without `dead_after` the lease alone decides. Never once posted or
        abandoned. On takeover or retry the *stored*
        `maxim_number` is kept (an earlier attempt may already have reached the platform with
        it), so post ``record.maxim_number``, not the argument.
        """
        now = as_utc(now)
        lease_until = now + lease
        insert = (
            insert_into(self._dialect, daily_posts)
            .values(
                platform=platform,
                channel=channel,
                local_date=local_date,
                maxim_number=maxim_number,
                state="claimed",
                owner=owner,
                attempts=1,
                claimed_at=now,
                lease_until=lease_until,
            )
            .on_conflict_do_nothing()
            .returning(*daily_posts.c)
        )
        c = daily_posts.c
        reclaim = (
            sa.update(daily_posts)
            .where(
                post_key(platform, channel, local_date), _claimable(self._dialect, now, dead_after)
            )
            .values(
                state="claimed",
                owner=owner,
                attempts=c.attempts + 1,
                claimed_at=now,
                lease_until=lease_until,
                next_attempt_at=None,
            )
            .returning(*daily_posts.c)
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(insert)).first()
            if row is None:
                row = (await conn.execute(reclaim)).first()
        if row is None:
            return None
        record = post_from_row(row)
        if record.attempts > 1:
            log.info(
                "claimed %s %s %s again (attempt %d)",
                platform,
                channel,
                local_date,
                record.attempts,
            )
        return record

    async def claim_posts(
        self,
        wanted: Iterable[WantedPost],
        *,
        owner: str,
        now: datetime.datetime,
        lease: datetime.timedelta,
        dead_after: datetime.timedelta | None = None,
    ) -> list[PostRecord]:
        """Claim a batch of posts in one transaction; the records of those we now own.

        Each post is claimable exactly as by `claim_post`. On PostgreSQL the subscriptions'
        rows are locked ``FOR UPDATE SKIP LOCKED`` first: posts another process is claiming
        right now are skipped, not waited for, so replicas take disjoint batches (a post whose
        subscription row is gone has nothing to lock and is claimed as `claim_post` would).
        SQLite has one writer at a time: its batches are disjoint by that alone.
        Then one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` takes the new posts and one
        conditional ``UPDATE ... RETURNING`` the failed ones due again and those of dead
        owners, with `claim_post`'s very conditions.
        """
        batch = {(w.platform, w.channel, w.local_date): w for w in wanted}
        if not batch:
            return []
        now = as_utc(now)
        lease_until = now + lease
        s, c = subscriptions.c, daily_posts.c
        asked = {k[:2] for k in batch}
        channels = sa.select(s.platform, s.channel).where(
            sa.tuple_(s.platform, s.channel).in_(sorted(asked))
        )
        lock = channels.order_by(s.platform, s.channel).with_for_update(skip_locked=True)
        claimed = {
            "state": "claimed",
            "owner": owner,
            "claimed_at": now,
            "lease_until": lease_until,
        }
        async with self._engine.begin() as conn:
            held = asked
            if self._dialect == "postgresql":
                held = {tuple(row) for row in await conn.execute(lock)}
                if held != asked:  # skipped (being claimed), or no row to lock (unsubscribed)
                    held |= asked - {tuple(row) for row in await conn.execute(channels)}
            keys = sorted(k for k in batch if k[:2] in held)
            if not keys:
                return []
            insert = insert_into(self._dialect, daily_posts).values(
                [batch[k]._asdict() | claimed | {"attempts": 1} for k in keys]
            )
            rows = list(await conn.execute(insert.on_conflict_do_nothing().returning(*c)))
            taken = {(r.platform, r.channel, r.local_date) for r in rows}
            if rest := [k for k in keys if k not in taken]:
                reclaim = (
                    sa.update(daily_posts)
                    .where(
                        sa.tuple_(c.platform, c.channel, c.local_date).in_(rest),
                        _claimable(self._dialect, now, dead_after),
                    )
                    .values(claimed | {"attempts": c.attempts + 1, "next_attempt_at": None})
                    .returning(*c)
                )
                rows += list(await conn.execute(reclaim))
        records = [post_from_row(row) for row in rows]
        again = [r for r in records if r.attempts > 1]
        if again:
            log.info("claimed %d post(s) again (a retry or a takeover)", len(again))
        return records

    async def complete_post(
        self,
        platform: str,
        channel: str,
        local_date: datetime.date,
        *,
        owner: str,
        message_id: str,
        now: datetime.datetime,
    ) -> bool:
        """Mark the post done; False (and no change) unless `owner` still holds the claim.

        An owner whose lease expired but was not taken over yet may still complete: the
        message did go out.
        """
        return await self._settle(
            platform,
            channel,
            local_date,
            owner,
            state="posted",
            message_id=message_id,
            posted_at=as_utc(now),
            error=None,
            next_attempt_at=None,
        )

    async def complete_posts(
        self,
        done: Sequence[tuple[str, str, datetime.date, str]],
        *,
        owner: str,
        now: datetime.datetime,
    ) -> set[tuple[str, str, datetime.date]]:
        """Mark a batch of (platform, channel, local date, message id) posted, in one statement.

        The keys done: as `complete_post`, only those `owner` still holds change.
        """
        if not done:
            return set()
        c = daily_posts.c
        keys = {(p, ch, d): mid for p, ch, d, mid in done}
        message_id = sa.case(
            *((post_key(*key), mid) for key, mid in keys.items()), else_=c.message_id
        )
        stmt = (
            sa.update(daily_posts)
            .where(
                sa.tuple_(c.platform, c.channel, c.local_date).in_(list(keys)),
                c.state == "claimed",
                c.owner == owner,
            )
            .values(
                state="posted",
                message_id=message_id,
                posted_at=as_utc(now),
                error=None,
                next_attempt_at=None,
            )
            .returning(c.platform, c.channel, c.local_date)
        )
        async with self._engine.begin() as conn:
            completed = {(r.platform, r.channel, r.local_date) for r in await conn.execute(stmt)}
        for platform, channel, local_date in keys.keys() - completed:
            log.warning("%s lost the claim on %s %s %s", owner, platform, channel, local_date)
        return completed

    async def fail_post(
        self,
        platform: str,
        channel: str,
        local_date: datetime.date,
        *,
        owner: str,
        error: str,
        now: datetime.datetime,
        retry_at: datetime.datetime | None,
    ) -> bool:
        """Release the claim as "failed" (retried from `retry_at`) or, with None, "abandoned".

        Returns False (and changes nothing) unless `owner` still holds the claim.
        """
        return await self._settle(
            platform,
            channel,
            local_date,
            owner,
            state="failed" if retry_at is not None else "abandoned",
            error=error,
            next_attempt_at=None if retry_at is None else as_utc(retry_at),
            lease_until=as_utc(now),
        )

    async def _settle(
        self,
        platform: str,
        channel: str,
        local_date: datetime.date,
        owner: str,
        **values: Any,
    ) -> bool:
        """End a claim with `values`, only if `owner` still holds it; False otherwise."""
        stmt = (
            sa.update(daily_posts)
            .where(
                post_key(platform, channel, local_date),
                daily_posts.c.state == "claimed",
                daily_posts.c.owner == owner,
            )
            .values(**values)
            .returning(daily_posts.c.state)
        )
        async with self._engine.begin() as conn:
            done = (await conn.execute(stmt)).first() is not None
        if not done:
            log.warning("%s lost the claim on %s %s %s", owner, platform, channel, local_date)
        return done

    async def get_post(
        self, platform: str, channel: str, local_date: datetime.date
    ) -> PostRecord | None:
        """Return the record of that day's post in that channel, or None."""
        stmt = sa.select(daily_posts).where(post_key(platform, channel, local_date))
        async with self._reading() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else post_from_row(row)

    async def list_posts(
        self, platform: str | None = None, *, since: datetime.date | None = None
    ) -> list[PostRecord]:
        """Return post records by date, platform, channel; of one platform, from `since` on.

        The scheduler's sweep reads only the last days, never the whole history.
        """
        c = daily_posts.c
        stmt = sa.select(daily_posts).order_by(c.local_date, c.platform, c.channel)
        if platform is not None:
            stmt = stmt.where(c.platform == platform)
        if since is not None:
            stmt = stmt.where(c.local_date >= since)
        async with self._reading() as conn:
            return [post_from_row(row) for row in await conn.execute(stmt)]

    async def release_post(
        self,
        platform: str,
        channel: str,
        local_date: datetime.date,
        *,
        owner: str,
        now: datetime.datetime,
        attempted: bool,
    ) -> bool:
        """Give a claim back at once (the process is stopping); False unless `owner` held it.

        The post becomes claimable from `now`. A claim released before its post was sent
        (`attempted` False) does not count as an attempt, so the next owner neither looks for
        an earlier message nor counts it against the retry limit; one released while its post
        was in flight keeps the attempt, so the next owner looks on the platform first.
        """
        c = daily_posts.c
        return await self._settle(
            platform,
            channel,
            local_date,
            owner,
            state="failed",
            error="released when its process stopped",
            next_attempt_at=as_utc(now),
            lease_until=as_utc(now),
            attempts=c.attempts if attempted else c.attempts - 1,
        )


def _claimable(
    dialect_name: str, now: datetime.datetime, dead_after: datetime.timedelta | None
) -> sa.ColumnElement[bool]:
    """Whether an existing post record may be claimed: its owner gone, or its retry due."""
    c = daily_posts.c
    return sa.or_(
        sa.and_(c.state == "claimed", _owner_gone(dialect_name, now, dead_after)),
        sa.and_(c.state == "failed", c.next_attempt_at <= now),
    )


def _owner_gone(
    dialect_name: str, now: datetime.datetime, dead_after: datetime.timedelta | None
) -> sa.ColumnElement[bool]:
    """Whether a claimed row's owner is gone: dead by heartbeat, or silent past its lease.

    Heartbeats are judged by the database's clock, like `ProcessQueries.dead_owners`.
    """
    c = daily_posts.c
    if dead_after is None:
        return c.lease_until <= now
    p = processes.c
    beats = sa.exists().where(p.owner == c.owner)
    deadline = database_now(dialect_name, -dead_after)
    dead = sa.exists().where(p.owner == c.owner, p.beat_at <= deadline)
    return sa.or_(dead, sa.and_(~beats, c.lease_until <= now))
