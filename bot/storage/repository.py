"""Durable state shared by every bot process: subscriptions, daily posts, de-duplication.

Why a database at all: the bot may run as several processes (a restart overlapping the old one,
or deliberate replicas), and Slack re-delivers events. The promises "one maxim per channel per
day", "each event handled once" and "the NaN answer at most once per cooldown" must therefore
hold *across processes*, so they are enforced by the database with single atomic statements
(``INSERT ... ON CONFLICT`` and conditional ``UPDATE ... WHERE ... RETURNING``), never by
read-then-write logic in Python.

Two backends, one code path (SQLAlchemy 2 Core, asyncio):

* SQLite (``sqlite+aiosqlite:///path.db``) for single-host installs: WAL journal, a busy timeout,
  and every transaction opened with ``BEGIN IMMEDIATE`` so concurrent writers queue up instead
  of failing with "database is locked" halfway through a transaction.
* PostgreSQL (``postgresql+asyncpg://...``) for anything bigger.

Datetimes are always timezone-aware UTC at this module's boundary. PostgreSQL stores them as
``timestamptz``; SQLite as fixed-width naive-UTC text, which sorts and compares chronologically,
so the same SQL comparisons (``lease_until <= :now``) are right on both.

The schema is versioned with Alembic, applied programmatically at `Storage.open` (scripts in
``bot/storage/migrations/versions``); on PostgreSQL an advisory lock serialises processes that
start at the same moment, on SQLite the ``BEGIN IMMEDIATE`` write lock does.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import sqlite3
import weakref
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import sqlalchemy as sa
from alembic.config import Config as AlembicConfig
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.engine import URL, Connection, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

UTC: Final = datetime.UTC
MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
VERSION_TABLE: Final = "maxim_schema_version"
"""Alembic's version table; named after the bot so a shared PostgreSQL database is no problem."""
MIGRATION_LOCK_KEY: Final = 0x6D6178696D  # "maxim": pg_advisory_xact_lock key for migrations
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
EVENT_RETENTION: Final = datetime.timedelta(days=1)
"""How long `first_delivery` remembers an event id (Slack retries within minutes)."""
EVENT_PRUNE_EVERY: Final = datetime.timedelta(hours=1)

POST_STATES: Final = ("claimed", "posted", "failed", "abandoned")


# ----------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Subscription:
    """A channel that receives the daily maxim at a local wall-clock time."""

    platform: str  # "console" | "slack" | "discord"
    workspace: str  # Slack team id / Discord guild id / "" for console
    channel: str
    time: datetime.time  # local wall-clock HH:MM
    timezone: str  # IANA name
    set_by: str  # user id, or "config"
    set_at: datetime.datetime
    source: str = "command"  # "command" (set in chat) or "config" (a [[daily]] entry)
    failing: str | None = None  # why posting keeps failing (channel gone...), None when healthy


@dataclass(frozen=True)
class PostRecord:
    """The state of one daily post, unique per (platform, channel, local_date)."""

    platform: str
    channel: str
    local_date: datetime.date
    maxim_number: int
    state: str  # "claimed" | "posted" | "failed" (will be retried) | "abandoned" (gave up)
    owner: str
    attempts: int
    message_id: str | None
    error: str | None
    claimed_at: datetime.datetime
    lease_until: datetime.datetime
    next_attempt_at: datetime.datetime | None
    posted_at: datetime.datetime | None


# ----------------------------------------------------------------------------------------------
# Tables (must match the migrations; tests/bot/storage/test_storage.py checks that they do)


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
        value = _utc(value)
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
)

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


# ----------------------------------------------------------------------------------------------
# Helpers


def _utc(value: datetime.datetime) -> datetime.datetime:
    """Return `value` in UTC; a naive datetime is a programming error, not a guess."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: storage needs timezone-aware UTC datetimes")
    return value.astimezone(UTC)


def _normalise_url(url: str) -> URL:
    """Parse `url`, defaulting bare ``sqlite://`` / ``postgresql://`` to the async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    if backend not in ("sqlite", "postgres", "postgresql"):
        raise ValueError(f"unsupported database backend {backend!r}: use sqlite or postgresql")
    return parsed


def _sqlite_file(url: URL) -> Path | None:
    """Return the database file of a SQLite URL, or None for in-memory / URI databases."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path = path.expanduser()
            path.parent.mkdir(parents=True, exist_ok=True)
            url = url.set(database=str(path))
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    return create_async_engine(
        url,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": "maxim-bot"}},
    )


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Take over transaction control from sqlite3 and set the pragmas concurrency needs."""
    # sqlite3's legacy mode would not BEGIN before SELECT or DDL; we emit BEGIN IMMEDIATE
    # ourselves in `_sqlite_on_begin`.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, see _sqlite_enable_wal
    finally:
        cursor.close()


async def _sqlite_enable_wal(engine: AsyncEngine) -> None:
    """Put the database file in WAL mode, so readers and the writer do not block each other.

    Done at open rather than per connection: the mode is stored in the file. While another
    process creates or converts the same file, SQLite answers "database is locked" at once,
    without waiting for the busy timeout, so retry until that timeout.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection  # aiosqlite, autocommit: see _sqlite_on_connect
        while True:
            try:
                cursor = await driver.execute("PRAGMA journal_mode = WAL")
                row = await cursor.fetchone()
                await cursor.close()
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or loop.time() >= deadline:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.25)
    mode = row[0] if row else None
    if mode != "wal":
        log.debug("SQLite journal mode is %s, not wal (in-memory database?)", mode)


READ_ONLY = "maxim_read_only"  # execution option marking a read-only transaction


def _sqlite_on_begin(connection: Connection) -> None:
    """Take the write lock at BEGIN, so a transaction never fails halfway on lock upgrade.

    With a deferred BEGIN, a transaction that read first and then writes gets SQLITE_BUSY at
    once (the busy timeout does not apply) whenever another connection wrote in between.
    Every write transaction here is short, so serialising them costs nothing noticeable.
    Read-only transactions (`Storage._reading`) begin deferred: in WAL mode they never wait
    for a writer, so a burst of slash commands does not queue behind a daily fan-out.
    """
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _run_alembic(connection: Connection, revision: str) -> tuple[str | None, str | None]:
    """Upgrade the schema on `connection` (inside its transaction) to `revision`.

    Returns the (before, after) revisions. Env-less: no ``env.py``, we hand Alembic the
    connection directly.
    """
    script = ScriptDirectory(str(MIGRATIONS_DIR))

    def upgrade(rev: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs(revision, rev)

    with EnvironmentContext(AlembicConfig(), script, fn=upgrade, destination_rev=revision) as env:
        env.configure(connection=connection, version_table=VERSION_TABLE)
        context = env.get_context()
        before = context.get_current_revision()
        with env.begin_transaction():
            env.run_migrations()
        after = context.get_current_revision()
    return before, after


_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _migration_lock() -> asyncio.Lock:
    """Return this event loop's lock serialising Alembic runs within the process.

    Alembic's ``op`` and ``context`` are process-global proxies, so two upgrades interleaving
    in one event loop (``run_sync`` yields at every statement) would send each other's
    operations to the wrong connection; this happens when databases are opened concurrently.
    """
    loop = asyncio.get_running_loop()
    lock = _migration_locks.get(loop)
    if lock is None:
        lock = _migration_locks[loop] = asyncio.Lock()
    return lock


async def _migrate(engine: AsyncEngine, revision: str) -> None:
    if engine.dialect.name == "sqlite":
        await _sqlite_enable_wal(engine)
    # The in-process lock is taken before the database lock, never while holding it.
    async with _migration_lock(), engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Held until this transaction ends: a second process starting at the same moment
            # waits here, then finds the schema already at head and does nothing.
            await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        before, after = await conn.run_sync(_run_alembic, revision)
    if before != after:
        log.info("database schema upgraded from %s to %s", before or "nothing", after)
    else:
        log.debug("database schema already at %s", after)


async def migrate(url: str, revision: str = "head") -> None:
    """Upgrade the database at `url` to schema `revision` without opening a `Storage`.

    `Storage.open` already upgrades to head; this is for tools and for tests that need an
    older schema (e.g. ``"0001"``).
    """
    engine = _create_engine(_normalise_url(url))
    try:
        await _migrate(engine, revision)
    finally:
        await engine.dispose()


def _insert(dialect_name: str, table: sa.Table) -> Any:
    """Return the dialect's INSERT construct, which knows ``ON CONFLICT``."""
    if dialect_name == "postgresql":
        return pg_dialect.insert(table)
    return sqlite_dialect.insert(table)


def _subscription(row: sa.Row[Any]) -> Subscription:
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
    )


def _post(row: sa.Row[Any]) -> PostRecord:
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


def _subscription_values(sub: Subscription) -> dict[str, Any]:
    return {
        "platform": sub.platform,
        "channel": sub.channel,
        "workspace": sub.workspace,
        "post_time": sub.time,
        "timezone": sub.timezone,
        "set_by": sub.set_by,
        "set_at": _utc(sub.set_at),
        "source": sub.source,
        "failing": sub.failing,
    }


def _post_key(platform: str, channel: str, local_date: datetime.date) -> sa.ColumnElement[bool]:
    return sa.and_(
        daily_posts.c.platform == platform,
        daily_posts.c.channel == channel,
        daily_posts.c.local_date == local_date,
    )


# ----------------------------------------------------------------------------------------------
# Storage


class Storage:
    """The bot's database; one instance per process, safe to share between its tasks."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap an engine whose schema is already at head; use `Storage.open` instead."""
        self._engine = engine
        self._dialect = engine.dialect.name
        self._next_event_prune: datetime.datetime | None = None

    @classmethod
    async def open(cls, url: str) -> Storage:
        """Connect to `url` and upgrade its schema to head.

        Safe when several processes open the same database at once. For SQLite the parent
        directory of the file is created if missing. ``sqlite://`` and ``postgresql://`` URLs
        get the async drivers (aiosqlite, asyncpg) when none is named.
        """
        parsed = _normalise_url(url)
        engine = _create_engine(parsed)
        try:
            await _migrate(engine, "head")
        except BaseException:
            await engine.dispose()
            raise
        log.info("storage opened: %s", parsed.render_as_string(hide_password=True))
        return cls(engine)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (deferred on SQLite; see `_sqlite_on_begin`)."""
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(**{READ_ONLY: True})
            async with conn.begin():
                yield conn

    async def __aenter__(self) -> Self:
        """Use as ``async with await Storage.open(url) as storage:``."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on leaving the block."""
        await self.close()

    # -- subscriptions ---------------------------------------------------------------------

    async def save_subscription(self, sub: Subscription) -> None:
        """Insert or replace the subscription of (sub.platform, sub.channel), all fields."""
        values = _subscription_values(sub)
        stmt = _insert(self._dialect, subscriptions).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[subscriptions.c.platform, subscriptions.c.channel],
            set_={k: stmt.excluded[k] for k in values if k not in ("platform", "channel")},
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def delete_subscription(self, platform: str, channel: str) -> bool:
        """Remove the channel's subscription (whatever its source); True if there was one."""
        stmt = (
            sa.delete(subscriptions)
            .where(subscriptions.c.platform == platform, subscriptions.c.channel == channel)
            .returning(subscriptions.c.channel)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def get_subscription(self, platform: str, channel: str) -> Subscription | None:
        """Return the channel's subscription, or None."""
        stmt = sa.select(subscriptions).where(
            subscriptions.c.platform == platform, subscriptions.c.channel == channel
        )
        async with self._reading() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _subscription(row)

    async def list_subscriptions(self, platform: str | None = None) -> list[Subscription]:
        """Return all subscriptions (of one platform), ordered by platform then channel."""
        stmt = sa.select(subscriptions).order_by(subscriptions.c.platform, subscriptions.c.channel)
        if platform is not None:
            stmt = stmt.where(subscriptions.c.platform == platform)
        async with self._reading() as conn:
            return [_subscription(row) for row in await conn.execute(stmt)]

    async def mark_subscription_failing(
        self, platform: str, channel: str, reason: str | None
    ) -> None:
        """Record why posting to the channel keeps failing; None marks it healthy again."""
        stmt = (
            sa.update(subscriptions)
            .where(subscriptions.c.platform == platform, subscriptions.c.channel == channel)
            .values(failing=reason)
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def sync_config_subscriptions(self, subs: Sequence[Subscription]) -> None:
        """Make the config-sourced subscriptions equal to `subs` (the ``[[daily]]`` entries).

        Every element is stored with ``source="config"`` whatever its own `source` says.
        A channel already subscribed in chat keeps its command row: config never overrides
        chat. A config row whose entry is unchanged (workspace, time, timezone, set_by) is left
        alone, so its `set_at` and `failing` survive restarts; a changed one is replaced
        whole. Config rows of channels no longer in `subs` are deleted. Safe to run from
        several processes at once. Raises ValueError if two entries name the same channel.
        """
        wanted: dict[tuple[str, str], Subscription] = {}
        for sub in subs:
            key = (sub.platform, sub.channel)
            if key in wanted:
                raise ValueError(f"two config subscriptions for {sub.platform} channel {key[1]}")
            wanted[key] = sub
        c = subscriptions.c
        async with self._engine.begin() as conn:
            for sub in wanted.values():
                values = _subscription_values(sub) | {"source": "config"}
                insert = _insert(self._dialect, subscriptions).values(values)
                await conn.execute(insert.on_conflict_do_nothing())
                changed = sa.or_(
                    c.workspace != sub.workspace,
                    c.post_time != sub.time,
                    c.timezone != sub.timezone,
                    c.set_by != sub.set_by,
                )
                await conn.execute(
                    sa.update(subscriptions)
                    .where(
                        c.platform == sub.platform,
                        c.channel == sub.channel,
                        c.source == "config",
                        changed,
                    )
                    .values(values)
                )
            existing = await conn.execute(
                sa.select(c.platform, c.channel).where(c.source == "config")
            )
            stale = [(p, ch) for p, ch in existing if (p, ch) not in wanted]
            for platform, channel in stale:
                await conn.execute(
                    sa.delete(subscriptions).where(
                        c.platform == platform, c.channel == channel, c.source == "config"
                    )
                )
        log.info("config subscriptions synced: %d wanted, %d removed", len(wanted), len(stale))

    # -- daily posts -----------------------------------------------------------------------

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
    ) -> PostRecord | None:
        """Claim the (platform, channel, local_date) post; the record if we own it, else None.

        Atomic across processes. Claimable when there is no row yet, when a claim's lease has
        expired (its owner crashed: takeover), or when a failed post's `next_attempt_at` has
        come. Never once posted or abandoned. On takeover or retry the *stored*
        `maxim_number` is kept (an earlier attempt may already have reached the platform with
        it), so post ``record.maxim_number``, not the argument.
        """
        now = _utc(now)
        lease_until = now + lease
        insert = (
            _insert(self._dialect, daily_posts)
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
                _post_key(platform, channel, local_date),
                sa.or_(
                    sa.and_(c.state == "claimed", c.lease_until <= now),
                    sa.and_(c.state == "failed", c.next_attempt_at <= now),
                ),
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
        record = _post(row)
        if record.attempts > 1:
            log.info(
                "claimed %s %s %s again (attempt %d)",
                platform,
                channel,
                local_date,
                record.attempts,
            )
        return record

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
            posted_at=_utc(now),
            error=None,
            next_attempt_at=None,
        )

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
            next_attempt_at=None if retry_at is None else _utc(retry_at),
            lease_until=_utc(now),
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
                _post_key(platform, channel, local_date),
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
        stmt = sa.select(daily_posts).where(_post_key(platform, channel, local_date))
        async with self._reading() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _post(row)

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
            return [_post(row) for row in await conn.execute(stmt)]

    # -- event de-duplication --------------------------------------------------------------

    async def first_delivery(self, platform: str, event_id: str, *, now: datetime.datetime) -> bool:
        """Return True exactly once per (platform, event_id), across processes.

        Ids are remembered for `EVENT_RETENTION`; older ones are pruned at most once per
        `EVENT_PRUNE_EVERY` per instance.
        """
        now = _utc(now)
        stmt = (
            _insert(self._dialect, delivered_events)
            .values(platform=platform, event_id=event_id, received_at=now)
            .on_conflict_do_nothing()
            .returning(delivered_events.c.event_id)
        )
        async with self._engine.begin() as conn:
            first = (await conn.execute(stmt)).first() is not None
            if self._next_event_prune is None or now >= self._next_event_prune:
                self._next_event_prune = now + EVENT_PRUNE_EVERY
                await conn.execute(
                    sa.delete(delivered_events).where(
                        delivered_events.c.received_at < now - EVENT_RETENTION
                    )
                )
        return first

    # -- cooldowns -------------------------------------------------------------------------

    async def take_cooldown(
        self, platform: str, channel: str, rule: str, *, now: datetime.datetime, seconds: float
    ) -> bool:
        """Return True, recording `now`, if `rule` has not answered in `channel` within `seconds`.

        Atomic across processes: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement.
        """
        now = _utc(now)
        stmt = _insert(self._dialect, cooldowns).values(
            platform=platform, channel=channel, rule=rule, last_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[cooldowns.c.platform, cooldowns.c.channel, cooldowns.c.rule],
            set_={"last_at": stmt.excluded.last_at},
            where=cooldowns.c.last_at <= now - datetime.timedelta(seconds=seconds),
        ).returning(cooldowns.c.last_at)
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).first() is not None

    # -- key-value -------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """Return the value stored under `key`, or None."""
        async with self._reading() as conn:
            value = await conn.scalar(sa.select(meta.c.value).where(meta.c.key == key))
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing any previous value."""
        stmt = _insert(self._dialect, meta).values(key=key, value=value)
        stmt = stmt.on_conflict_do_update(
            index_elements=[meta.c.key], set_={"value": stmt.excluded.value}
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)


__all__ = [
    "POST_STATES",
    "PostRecord",
    "Storage",
    "Subscription",
    "metadata",
    "migrate",
]
