"""What the scheduler reads at scale: only the subscriptions due now, a slot's, the slots.

With a hundred thousand subscriptions nothing that runs every minute may read them all. Each
subscription carries ``due_at``, the UTC instant of its next post that may still be due
(computed by the scheduler, which knows the time rules; storage only keeps it and sets it
back to NULL when the subscription changes). Its index makes the sweep's read as cheap with
100,000 rows as with 1,000. A slot's job reads its own (time, zone) through another index,
the jobs are built from the distinct slots counted in SQL, and a token in ``meta``, renewed
by every change, tells a process that another one changed subscriptions.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.base import StorageBase
from bot.storage.records import DueSubscription, PostRecord, SlotCount, Subscription
from bot.storage.tables import (
    UTCDateTime,
    as_utc,
    daily_posts,
    insert_into,
    meta,
    post_from_row,
    subscription_from_row,
    subscriptions,
)

CHANGED_KEY: Final = "subscriptions_changed"
"""The ``meta`` key whose value every change of subscriptions renews (a random token)."""
KEYS_PER_QUERY: Final = 1000  # (platform, channel, date) keys per IN list: far below any limit

PostKey = tuple[str, str, datetime.date]


class DueQueries(StorageBase):
    """The scheduler's reads that must not grow with the number of subscriptions."""

    async def due_subscriptions(
        self,
        *,
        now: datetime.datetime | None,
        platforms: Collection[str],
        limit: int | None = None,
    ) -> list[DueSubscription]:
        """Healthy subscriptions of `platforms` whose `due_at` has come (by `now`).

        With `now` None: those whose `due_at` is not computed yet (new, changed, or from
        before migration 0010), at most `limit` of them. Reads through the ``due_at`` index:
        rows due later are never read.
        """
        c = subscriptions.c
        when = c.due_at.is_(None) if now is None else c.due_at <= as_utc(now)
        stmt = sa.select(subscriptions).where(
            when, c.failing.is_(None), c.platform.in_(list(platforms))
        )
        async with self._reading() as conn:
            return [
                DueSubscription(subscription_from_row(row), row.due_at)
                for row in await conn.execute(stmt.limit(limit))
            ]

    async def set_due_at(
        self, changes: Sequence[tuple[DueSubscription, datetime.datetime]]
    ) -> None:
        """Store each new `due_at`, only where the row is still as it was read.

        A subscription changed meanwhile (its time, zone or days, or `due_at` reset to NULL by
        the change) keeps what the change wrote, so a stale computation never hides it.
        """
        if not changes:
            return
        c = subscriptions.c
        stmt = (
            sa.update(subscriptions)
            .where(
                c.platform == sa.bindparam("k_platform"),
                c.channel == sa.bindparam("k_channel"),
                c.post_time == sa.bindparam("k_time", type_=sa.Time()),
                c.timezone == sa.bindparam("k_zone"),
                c.days == sa.bindparam("k_days"),
                c.due_at.is_not_distinct_from(sa.bindparam("k_old", type_=UTCDateTime())),
            )
            .values(due_at=sa.bindparam("k_new", type_=UTCDateTime()))
        )
        rows = [
            {
                "k_platform": due.sub.platform,
                "k_channel": due.sub.channel,
                "k_time": due.sub.time,
                "k_zone": due.sub.timezone,
                "k_days": due.sub.days,
                "k_old": due.due_at,
                "k_new": new,
            }
            for due, new in changes
        ]
        async with self._engine.begin() as conn:
            if self._dialect == "postgresql":  # one statement a batch, not one a row
                await conn.execute(*_update_from_arrays(rows))
            else:
                await conn.execute(stmt, rows)

    async def slot_subscriptions(self, at: datetime.time, timezone: str) -> list[Subscription]:
        """The subscriptions posting at `at` in `timezone` (one slot's job), by index."""
        c = subscriptions.c
        stmt = (
            sa.select(subscriptions)
            .where(c.post_time == at, c.timezone == timezone)
            .order_by(c.platform, c.channel)
        )
        async with self._reading() as conn:
            return [subscription_from_row(row) for row in await conn.execute(stmt)]

    async def subscription_slots(self) -> list[SlotCount]:
        """Every distinct (platform, time, zone, days) with how many subscriptions have it.

        Counted by the database: the scheduler builds its jobs without holding a single
        subscription in memory.
        """
        c = subscriptions.c
        keys = (c.platform, c.post_time, c.timezone, c.days)
        stmt = sa.select(*keys, sa.func.count()).group_by(*keys)
        async with self._reading() as conn:
            return [SlotCount(*row) for row in await conn.execute(stmt)]

    async def subscriptions_changed(self) -> str | None:
        """The token the last change of subscriptions left (None before any change)."""
        async with self._reading() as conn:
            value = await conn.scalar(sa.select(meta.c.value).where(meta.c.key == CHANGED_KEY))
        return None if value is None else str(value)

    async def _note_subscriptions_changed(self, conn: AsyncConnection) -> None:
        """Renew the change token, in the changing transaction (a new token, no read)."""
        stmt = insert_into(self._dialect, meta).values(key=CHANGED_KEY, value=secrets.token_hex(8))
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[meta.c.key], set_={"value": stmt.excluded.value}
            )
        )

    async def posts_for(self, keys: Iterable[PostKey]) -> dict[PostKey, PostRecord]:
        """The post records of exactly these (platform, channel, local date) keys."""
        wanted = sorted(set(keys))
        c = daily_posts.c
        found: dict[PostKey, PostRecord] = {}
        async with self._reading() as conn:
            for start in range(0, len(wanted), KEYS_PER_QUERY):
                chunk = wanted[start : start + KEYS_PER_QUERY]
                stmt = sa.select(daily_posts).where(
                    sa.tuple_(c.platform, c.channel, c.local_date).in_(chunk)
                )
                for row in await conn.execute(stmt):
                    record = post_from_row(row)
                    found[record.platform, record.channel, record.local_date] = record
        return found


def _update_from_arrays(rows: list[dict[str, Any]]) -> tuple[sa.Update, dict[str, Any]]:
    """`set_due_at`'s compare-and-set as one ``UPDATE ... FROM unnest(arrays)`` (PostgreSQL).

    Seven array parameters, whatever the batch's size: one statement, compiled once.
    """
    stamp = sa.DateTime(timezone=True)
    types: dict[str, Any] = {
        "k_platform": sa.String(),
        "k_channel": sa.String(),
        "k_time": sa.Time(),
        "k_zone": sa.String(),
        "k_days": sa.SmallInteger(),
        "k_old": stamp,
        "k_new": stamp,
    }
    v = (
        sa.func.unnest(*(sa.bindparam(n, type_=pg_dialect.ARRAY(t)) for n, t in types.items()))
        .table_valued(*types)
        .render_derived(name="v")
    )
    c = subscriptions.c
    stmt = (
        sa.update(subscriptions)
        .where(
            c.platform == v.c.k_platform,
            c.channel == v.c.k_channel,
            c.post_time == v.c.k_time,
            c.timezone == v.c.k_zone,
            c.days == v.c.k_days,
            c.due_at.is_not_distinct_from(v.c.k_old),
        )
        .values(due_at=v.c.k_new)
    )
    return stmt, {n: [row[n] for row in rows] for n in types}
