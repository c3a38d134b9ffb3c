"""The two backends behind one code path (SQLAlchemy 2 Core, asyncio): URLs and engines.

* SQLite (``sqlite+aiosqlite:///path.db``) for single-host installs, set up for several
  processes in `bot.storage.sqlite_pragmas`.
* PostgreSQL (``postgresql+asyncpg://...``) for anything bigger, every connect and statement
  bounded by ``storage.query_timeout_seconds`` while running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.storage.sqlite_files import prepare_sqlite_file
from bot.storage.sqlite_pragmas import SQLITE_BUSY_TIMEOUT_MS, sqlite_on_begin, sqlite_on_connect

QUERY_TIMEOUT_SECONDS: Final = 2.0  # default of storage.query_timeout_seconds


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


def sqlite_file(url: URL) -> Path | None:
    """Return the database file of a SQLite URL, or None for in-memory / URI databases."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def describe_target(url: URL) -> str:
    """Where `url` points, for log lines: ``host:port/database`` or the SQLite file; no password."""
    if url.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        return f"SQLite file {path}" if path is not None else "SQLite (in memory)"
    return f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432}/{url.database or ''}"


def build_engine(
    url: URL, *, query_timeout: float | None = None, connect_timeout: float = QUERY_TIMEOUT_SECONDS
) -> AsyncEngine:
    """An engine for a normalised `url`, set up for concurrent use by several processes.

    For a SQLite file the parent directory is created if missing, so a fresh install needs
    no preparation; a directory that cannot be created or written is `StorageRefused`. The
    file is created private (0600), see `bot.storage.sqlite_files`.

    On PostgreSQL, `query_timeout` bounds each statement and wait for a pooled connection,
    and `connect_timeout` each connect: asyncpg would otherwise wait 60 s for a host that
    drops packets. None (for migrations, which may take long) leaves statements unbounded.
    SQLite keeps its 30 s busy timeout: in WAL mode reads never wait for it, and writers
    queueing is what lets several processes share the file.
    """
    if url.get_backend_name() == "sqlite":
        path = sqlite_file(url)
        if path is not None:
            path = path.expanduser()
            prepare_sqlite_file(path)
            url = url.set(database=str(path))
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        sa.event.listen(engine.sync_engine, "connect", sqlite_on_connect)
        sa.event.listen(engine.sync_engine, "begin", sqlite_on_begin)
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
