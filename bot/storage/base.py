"""What every part of `Storage` shares: the engine, its dialect, and read-only transactions.

`Storage` is one facade over several query modules (`posts`, `processes`, `repository`), split
by meaning so that no module grows past a screenful of concerns; each part inherits this base
and none knows the others.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.sqlite_pragmas import READ_ONLY


class StorageBase:
    """The engine and the read-only transaction every query part uses."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap an engine whose schema is already at head; use `Storage.open` instead."""
        self._engine = engine
        self._dialect = engine.dialect.name

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction (deferred on SQLite; see `bot.storage.sqlite_pragmas`)."""
        async with self._engine.connect() as conn:
            conn = await conn.execution_options(**{READ_ONLY: True})
            async with conn.begin():
                yield conn
