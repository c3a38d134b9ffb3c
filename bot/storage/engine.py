"""Connecting to the database and bringing its schema to the version this code expects.

Two backends, one code path (SQLAlchemy 2 Core, asyncio):

* SQLite (``sqlite+aiosqlite:///path.db``) for single-host installs: WAL journal, a busy timeout,
  and every write transaction opened with ``BEGIN IMMEDIATE`` so concurrent writers queue up
  instead of failing with "database is locked" halfway through a transaction.
* PostgreSQL (``postgresql+asyncpg://...``) for anything bigger.

Outages: at start the database may not be up yet (a compose file, a reboot), so `open_engine`
keeps trying for ``storage.connect_timeout_seconds``, one WARNING line per attempt, then gives up
with `StorageUnavailable`. While running, every connect and statement on PostgreSQL is bounded
by ``storage.query_timeout_seconds``, so an answer that reads storage goes on without it in
time, and `describe_outage` tells the error boundaries that such an error is an outage (one
log line), not a bug (a traceback).

The schema is versioned with Alembic and upgraded when storage opens, through Alembic's
documented API (`alembic.command.upgrade` with the connection handed to ``migrations/env.py``
in ``config.attributes``). Several processes may start at once: on PostgreSQL an advisory lock
serialises them, on SQLite the ``BEGIN IMMEDIATE`` write lock does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import weakref
from collections.abc import Iterator
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
CONNECT_TIMEOUT_SECONDS: Final = 60.0  # defaults of storage.connect_timeout_seconds
QUERY_TIMEOUT_SECONDS: Final = 2.0  # and storage.query_timeout_seconds
FIRST_RETRY_SECONDS: Final = 0.5
MAX_RETRY_SECONDS: Final = 10.0


class StorageOpenError(Exception):
    """Storage could not be opened at start; the message is one log line, with no secret."""

    exit_status = 1


class StorageUnavailable(StorageOpenError):
    """The database stayed unreachable for the whole connect timeout (it may come back)."""


class StorageRefused(StorageOpenError):
    """The database cannot be used as configured: retrying would not help, so stop at once.

    No such database, a SQLite directory that cannot be created: exit status 2, as for any
    other configuration that cannot work.
    """

    exit_status = 2


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


def describe_target(url: URL) -> str:
    """Where `url` points, for log lines: ``host:port/database`` or the SQLite file; no password."""
    if url.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        return f"SQLite file {path}" if path is not None else "SQLite (in memory)"
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def build_engine(
    url: URL, *, query_timeout: float | None = None, connect_timeout: float = QUERY_TIMEOUT_SECONDS
) -> AsyncEngine:
    """An engine for a normalised `url`, set up for concurrent use by several processes.

    For a SQLite file the parent directory is created if missing, so a fresh install needs
    no preparation; a directory that cannot be created or written is `StorageRefused`.

    On PostgreSQL, `query_timeout` bounds each statement and wait for a pooled connection,
    and `connect_timeout` each connect: asyncpg would otherwise wait 60 s for a host that
    drops packets. None (for migrations, which may take long) leaves statements unbounded.
    SQLite keeps its 30 s busy timeout: in WAL mode reads never wait for it, and writers
    queueing is what lets several processes share the file.
    """
    if url.get_backend_name() == "sqlite":
        path = _sqlite_file(url)
        if path is not None:
            path = path.expanduser()
            _prepare_sqlite_directory(path)
            url = url.set(database=str(path))
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    connect_args: dict[str, Any] = {
        "server_settings": {"application_name": "maxim-bot"},
        "timeout": connect_timeout,
    }
    if query_timeout is None:
        return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args)
    return create_async_engine(
        url,
        pool_pre_ping=True,
        pool_timeout=query_timeout,
        connect_args={**connect_args, "command_timeout": query_timeout},
    )


def _prepare_sqlite_directory(path: Path) -> None:
    """Create the database file's directory; `StorageRefused` if that or writing is impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageRefused(
            f"storage.url: cannot create the directory {path.parent} for the SQLite file "
            f"({type(err).__name__}: {err.strerror or err})"
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StorageRefused(
            f"storage.url: the directory {path.parent} of the SQLite file is not writable"
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


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, the driver error it wraps, and what caused it, in that order (no loops)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        link = todo.pop(0)
        if link is None or id(link) in seen or len(seen) > 20:
            continue
        seen.add(id(link))
        yield link
        orig = getattr(link, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [link.__cause__, link.__context__]


def _short(error: BaseException) -> str:
    """``Class: first line of the message`` (shortened), for a single log line.

    SQLAlchemy's wrappers (and its asyncpg adapter's) repeat the driver's error in a longer
    form: the driver's own error below them is named instead.
    """
    if type(error).__module__.startswith("sqlalchemy"):
        inner = (c for c in _causes(error) if not type(c).__module__.startswith("sqlalchemy"))
        error = next(inner, error)
    text = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, OSError | sa.exc.TimeoutError):  # refused, timed out, pool exhausted
        return True
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error)
    if type(error).__module__.startswith("asyncpg"):
        from asyncpg import exceptions as pg

        outage = (
            pg.PostgresConnectionError,  # the connection broke
            pg.OperatorInterventionError,  # shutting down, starting up, cancelled
            pg.TooManyConnectionsError,
        )
        return isinstance(error, outage) or "connection is closed" in str(error)
    return False


DATABASE_MODULES: Final = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "bot.storage")


def _touches_database(error: BaseException) -> bool:
    """Whether `error` is a database library's, or was raised on its way through one.

    A refused connection is an `OSError` like any network error; only one that came from
    the database is an outage of it (a Slack call failing is not).
    """
    if type(error).__module__.startswith(DATABASE_MODULES):
        return True
    frame = error.__traceback__
    while frame is not None:
        if str(frame.tb_frame.f_globals.get("__name__", "")).startswith(DATABASE_MODULES):
            return True
        frame = frame.tb_next
    return False


def describe_outage(error: BaseException) -> str | None:
    """``ConnectionRefusedError: ...`` when `error` means the database cannot be reached now.

    None for anything else (a constraint, a bug, another service's network error): those
    deserve a traceback. The error boundaries use this to log an outage as one line, and
    the answers that can go on without storage use it to decide that they may.
    """
    links = list(_causes(error))
    if not any(_touches_database(link) for link in links):
        return None
    return next((_short(link) for link in links if _is_outage(link)), None)


async def _check_connection(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


async def _attempt_open(engine: AsyncEngine, target: str) -> None:
    """Connect, then migrate; a database that answers but refuses us is `StorageRefused`."""
    try:
        await _check_connection(engine)
    except Exception as err:
        if describe_outage(err) is None:
            raise StorageRefused(f"cannot use {target} ({_short(err)})") from None
        raise
    await upgrade_schema(engine, "head")


async def open_engine(
    url: URL,
    *,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    query_timeout: float = QUERY_TIMEOUT_SECONDS,
) -> AsyncEngine:
    """Connect to `url`, retrying for `connect_timeout` s, upgrade the schema: the engine to use.

    The database often starts after the bot (a compose file, a reboot), so an unreachable one
    is retried with backoff, one WARNING line per attempt naming where (never the password)
    and why. Raises `StorageUnavailable` when time is up, `StorageRefused` at once when
    retrying cannot help. The engine returned is bounded by `query_timeout` (`build_engine`).
    """
    target = describe_target(url)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + connect_timeout
    delay = FIRST_RETRY_SECONDS
    attempt = 0
    # No statement timeout for migrations (they may be slow); each connect attempt is bounded.
    migration_engine = build_engine(url, connect_timeout=query_timeout)
    try:
        while True:
            attempt += 1
            try:
                await _attempt_open(migration_engine, target)
                break
            except Exception as err:
                outage = describe_outage(err)
                if outage is None:
                    raise
                left = deadline - loop.time()
                if left <= 0:
                    raise StorageUnavailable(
                        f"cannot reach {target} ({outage}); gave up after {attempt} attempt(s) "
                        f"in {connect_timeout:g} s (storage.connect_timeout_seconds)"
                    ) from None
                wait = min(delay, left)
                log.warning(
                    "cannot reach %s (%s): attempt %d, retrying in %.1f s (gives up in %.0f s)",
                    target,
                    outage,
                    attempt,
                    wait,
                    left,
                )
                await asyncio.sleep(wait)
                delay = min(delay * 2, MAX_RETRY_SECONDS)
    finally:
        await migration_engine.dispose()
    return build_engine(url, query_timeout=query_timeout, connect_timeout=query_timeout)


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
