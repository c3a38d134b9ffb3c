"""Connecting to the database and bringing its schema to the version this code expects.

Two backends, one code path (SQLAlchemy 2 Core, asyncio):

* SQLite (``sqlite+aiosqlite:///path.db``) for single-host installs: WAL journal, a busy timeout,
  and every write transaction opened with ``BEGIN IMMEDIATE`` so concurrent writers queue up
  instead of failing with "database is locked" halfway through a transaction.
* PostgreSQL (``postgresql+asyncpg://...``) for anything bigger.

The schema is versioned with Alembic and upgraded when storage opens, through Alembic's
documented API (`alembic.command.upgrade` with the connection handed to ``migrations/env.py``
in ``config.attributes``). Several processes may start at once: on PostgreSQL an advisory lock
serialises them, on SQLite the ``BEGIN IMMEDIATE`` write lock does.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.storage.tables import VERSION_TABLE

log = logging.getLogger(__name__)

MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY: Final = 0x6D6178696D  # "maxim": pg_advisory_xact_lock key for migrations
SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
READ_ONLY: Final = "maxim_read_only"  # execution option marking a read-only transaction


def normalise_url(url: str) -> URL:
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


def build_engine(url: URL) -> AsyncEngine:
    """An engine for a normalised `url`, set up for concurrent use by several processes.

    For a SQLite file the parent directory is created if missing, so a fresh install needs
    no preparation.
    """
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


def _sqlite_on_begin(connection: Connection) -> None:
    """Take the write lock at BEGIN, so a transaction never fails halfway on lock upgrade.

    With a deferred BEGIN, a transaction that read first and then writes gets SQLITE_BUSY at
    once (the busy timeout does not apply) whenever another connection wrote in between.
    Every write transaction here is short, so serialising them costs nothing noticeable.
    Read-only transactions (marked with `READ_ONLY`) begin deferred: in WAL mode they never
    wait for a writer, so a burst of slash commands does not queue behind a daily fan-out.
    """
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


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


def _schema_revision(connection: Connection) -> str | None:
    """The revision the database is at, None before the first migration."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def _run_alembic(connection: Connection, revision: str) -> tuple[str | None, str | None]:
    """Upgrade the schema on `connection` (inside its transaction) to `revision`.

    Returns the (before, after) revisions. ``migrations/env.py`` takes the connection from
    ``config.attributes``, so Alembic runs inside the transaction that holds our lock and
    never opens a connection of its own; there is no ``alembic.ini``.
    """
    config = AlembicConfig()
    # ConfigParser would read a "%" in the path as interpolation.
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    before = _schema_revision(connection)
    command.upgrade(config, revision)
    return before, _schema_revision(connection)


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


async def upgrade_schema(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the database of `engine` to schema `revision`; safe from several processes."""
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
    engine = build_engine(normalise_url(url))
    try:
        await upgrade_schema(engine, revision)
    finally:
        await engine.dispose()
