"""SQLite set up for several processes sharing one file: pragmas, transactions and WAL.

Every write transaction opens with ``BEGIN IMMEDIATE`` so concurrent writers queue up (for the
busy timeout) instead of failing with "database is locked" halfway through a transaction; the
file is put in WAL mode once, so readers and the writer do not block each other.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any, Final

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS: Final = 30_000
READ_ONLY: Final = "maxim_read_only"  # execution option marking a read-only transaction


def sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Take over transaction control from sqlite3 and set the pragmas concurrency needs."""
    # sqlite3's legacy mode would not BEGIN before SELECT or DDL; we emit BEGIN IMMEDIATE
    # ourselves in `sqlite_on_begin`.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, see sqlite_enable_wal
    finally:
        cursor.close()


def sqlite_on_begin(connection: Connection) -> None:
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


async def sqlite_enable_wal(engine: AsyncEngine) -> None:
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
        driver: Any = raw.driver_connection  # aiosqlite, autocommit: see sqlite_on_connect
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
