"""The tables as SQLAlchemy Core sees them, and how records become rows and back.

The repository builds its statements from these. The schema itself is owned by the Alembic
migrations (``migrations/versions``); these definitions must match them, and
tests/bot/storage/test_schema.py checks that they do.

Datetimes are timezone-aware UTC at this boundary: PostgreSQL stores them as ``timestamptz``,
SQLite as fixed-width naive-UTC text, which sorts and compares chronologically, so the same
SQL comparisons (``lease_until <= :now``) are right on both.
"""

from __future__ import annotations

import datetime
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import Dialect

from bot.storage.records import PostRecord, Subscription

UTC: Final = datetime.UTC
VERSION_TABLE: Final = "maxim_schema_version"
"""Alembic's version table; named after the bot so a shared PostgreSQL database is no problem."""


def as_utc(value: datetime.datetime) -> datetime.datetime:
    """Return `value` in UTC; a naive datetime is a programming error, not a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: storage needs timezone-aware UTC datetimes")
    return value.astimezone(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime.datetime]):
    """Aware UTC datetimes in and out; ``timestamptz`` on PostgreSQL, naive-UTC text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self, value: datetime.datetime | None, dialect: Dialect
    ) -> datetime.datetime | None:
        """Refuse naive datetimes; normalise to UTC (naive UTC for SQLite's text format)."""
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: datetime.datetime | None, dialect: Dialect
    ) -> datetime.datetime | None:
        """Return aware UTC whatever the driver hands back."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = sa.MetaData()

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("platform", sa.String(), primary_key=True),
    sa.Column("channel", sa.String(), primary_key=True),
    sa.Column("workspace", sa.String(), nullable=False, server_default=""),
    sa.Column("post_time", sa.Time(), nullable=False),
    sa.Column("timezone", sa.String(), nullable=False),
    sa.Column("set_by", sa.String(), nullable=False),
    sa.Column("set_at", UTCDateTime(), nullable=False),
    sa.Column("source", sa.String(), nullable=False, server_default="command"),
    sa.Column("failing", sa.Text(), nullable=True),
    sa.Column("style", sa.String(), nullable=False, server_default="text"),
    # The local weekdays it posts on, a mask: bit 0 Monday ... bit 6 Sunday (127: every day).
    sa.Column("days", sa.SmallInteger(), nullable=False, server_default="127"),
    # The post opens a thread to talk in (Discord) or invites replies in its thread (Slack).
    sa.Column("thread", sa.Boolean(), nullable=False, server_default=sa.false()),
    # The Slack Enterprise Grid org it was set in (its org-wide installation may post it).
    sa.Column("enterprise", sa.String(), nullable=False, server_default=""),
    # The next post's UTC instant that may still be due; NULL until the scheduler computes it
    # (and again after any change). The sweep reads only rows due by it (its index).
    sa.Column("due_at", UTCDateTime(), nullable=True),
    sa.Index("ix_subscriptions_due_at", "due_at"),
    # A slot's job reads only its own (time, zone).
    sa.Index("ix_subscriptions_slot", "post_time", "timezone"),
    # A Home tab reads, and an uninstall removes, one workspace's posts among thousands.
    sa.Index("ix_subscriptions_workspace", "platform", "workspace"),
)

daily_posts = sa.Table(
    "daily_posts",
    metadata,
    sa.Column("platform", sa.String(), primary_key=True),
    sa.Column("channel", sa.String(), primary_key=True),
    sa.Column("local_date", sa.Date(), primary_key=True),
    sa.Column("maxim_number", sa.Integer(), nullable=False),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("owner", sa.String(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("message_id", sa.String(), nullable=True),
    sa.Column("error", sa.Text(), nullable=True),
    sa.Column("claimed_at", UTCDateTime(), nullable=False),
    sa.Column("lease_until", UTCDateTime(), nullable=False),
    sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("posted_at", UTCDateTime(), nullable=True),
    sa.CheckConstraint(
        "state IN ('claimed', 'posted', 'failed', 'abandoned')", name="ck_daily_posts_state"
    ),
    # The sweep reads the last two days every minute; without this it scans the whole history.
    sa.Index("ix_daily_posts_local_date", "local_date"),
)

processes = sa.Table(
    "processes",
    metadata,
    sa.Column("owner", sa.String(), primary_key=True),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("beat_at", UTCDateTime(), nullable=False),
)
"""One row per bot process, renewed every few seconds: how others know a claim's owner lives."""

delivered_events = sa.Table(
    "delivered_events",
    metadata,
    sa.Column("platform", sa.String(), primary_key=True),
    sa.Column("event_id", sa.String(), primary_key=True),
    sa.Column("received_at", UTCDateTime(), nullable=False, index=True),
)

cooldowns = sa.Table(
    "cooldowns",
    metadata,
    sa.Column("platform", sa.String(), primary_key=True),
    sa.Column("channel", sa.String(), primary_key=True),
    sa.Column("rule", sa.String(), primary_key=True),
    sa.Column("last_at", UTCDateTime(), nullable=False),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
)


def database_now(
    dialect_name: str,
    offset: datetime.timedelta = datetime.timedelta(0),
    *,
    start: sa.ColumnElement[Any] | None = None,
) -> sa.ColumnElement[Any]:
    """The database's clock (or the timestamp `start`) moved by `offset`, as SQL.

    Liveness compares times written by different processes, so it must use one clock: the
    database's, read in the statement itself, never a process's own (which may run ahead).
    PostgreSQL: ``now()`` (the transaction's start). SQLite: ``strftime`` of ``'now'`` to
    the millisecond, written in the fixed-width text `UTCDateTime` stores, so it compares
    with stored datetimes as text does.
    """
    if dialect_name == "postgresql":
        base: sa.ColumnElement[Any] = sa.func.now() if start is None else start
        return base + sa.literal(offset, sa.Interval())
    return sa.func.strftime(
        "%Y-%m-%d %H:%M:%f000",
        "now" if start is None else start,
        f"{offset.total_seconds():+.6f} seconds",
    )


# -- records <-> rows: the one place that knows both shapes (``time`` is ``post_time``) ------


def insert_into(dialect_name: str, table: sa.Table) -> Any:
    """Return the dialect's INSERT construct, which knows ``ON CONFLICT``."""
    if dialect_name == "postgresql":
        return pg_dialect.insert(table)
    return sqlite_dialect.insert(table)


def subscription_from_row(row: sa.Row[Any]) -> Subscription:
    """The record of a ``subscriptions`` row."""
    return Subscription(
        platform=row.platform,
        workspace=row.workspace,
        channel=row.channel,
        time=row.post_time,
        timezone=row.timezone,
        set_by=row.set_by,
        set_at=row.set_at,
        source=row.source,
        failing=row.failing,
        style=row.style,
        days=row.days,
        thread=bool(row.thread),
        enterprise=row.enterprise,
    )


def post_from_row(row: sa.Row[Any]) -> PostRecord:
    """The record of a ``daily_posts`` row."""
    return PostRecord(
        platform=row.platform,
        channel=row.channel,
        local_date=row.local_date,
        maxim_number=row.maxim_number,
        state=row.state,
        owner=row.owner,
        attempts=row.attempts,
        message_id=row.message_id,
        error=row.error,
        claimed_at=row.claimed_at,
        lease_until=row.lease_until,
        next_attempt_at=row.next_attempt_at,
        posted_at=row.posted_at,
    )


def subscription_values(sub: Subscription) -> dict[str, Any]:
    """The ``subscriptions`` row of a record, column by column."""
    return {
        "platform": sub.platform,
        "channel": sub.channel,
        "workspace": sub.workspace,
        "post_time": sub.time,
        "timezone": sub.timezone,
        "set_by": sub.set_by,
        "set_at": as_utc(sub.set_at),
        "source": sub.source,
        "failing": sub.failing,
        "style": sub.style,
        "days": sub.days,
        "thread": sub.thread,
        "enterprise": sub.enterprise,
        "due_at": None,  # a changed subscription is due again by its new rules: recomputed
    }


def post_key(platform: str, channel: str, local_date: datetime.date) -> sa.ColumnElement[bool]:
    """The WHERE clause selecting one daily post by its primary key."""
    return sa.and_(
        daily_posts.c.platform == platform,
        daily_posts.c.channel == channel,
        daily_posts.c.local_date == local_date,
    )


stats_counts = sa.Table(
    "stats_counts",
    metadata,
    sa.Column("platform", sa.String(), primary_key=True),
    sa.Column("workspace", sa.String(), primary_key=True),
    sa.Column("day", sa.Date(), primary_key=True),
    sa.Column("kind", sa.String(), primary_key=True),
    sa.Column("maxim", sa.Integer(), primary_key=True),
    sa.Column("n", sa.Integer(), nullable=False),
)
"""How often each maxim was asked for, shared, posted daily or answered a NaN: counts, not people.

One row per (platform, workspace or guild, UTC day, kind, maxim); no user, channel or text.
"""
