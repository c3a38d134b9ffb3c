"""Bringing the database's schema to the version this code expects, from several processes.

The schema is versioned with Alembic and upgraded when storage opens, through Alembic's
documented API (`alembic.command.upgrade` with the connection handed to ``migrations/env.py``
in ``config.attributes``). Several processes may start at once: on PostgreSQL an advisory lock
serialises them, on SQLite the ``BEGIN IMMEDIATE`` write lock does.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.backends import build_engine, normalise_url
from bot.storage.sqlite_pragmas import sqlite_enable_wal
from bot.storage.tables import VERSION_TABLE

log = logging.getLogger(__name__)

MIGRATIONS_DIR: Final = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY: Final = 0x6D6178696D  # "maxim": pg_advisory_xact_lock key for migrations


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
        await sqlite_enable_wal(engine)
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
