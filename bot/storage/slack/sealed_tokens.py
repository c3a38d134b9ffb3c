"""The Slack tokens stored in the installation and bot rows, encrypted at rest with a key.

`seal_values` and `unseal_row` are what `SqlInstallationStore` writes and reads through; the
columns are `SEALED_COLUMNS`. `check_stored_tokens` reads every stored token once at start
(and for ``check-config --connect``), so a missing or wrong ``MAXIM_STORAGE_KEY`` stops the
bot with one line instead of failing each request. `reseal_stored_tokens` is
``maxim-bot migrate --rotate-key``. Imports no slack_sdk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.slack.tables import SEALED_COLUMNS
from bot.storage.token_cipher import TokenCipher, is_sealed

log = logging.getLogger(__name__)


def seal_values(table: sa.Table, values: dict[str, Any], cipher: TokenCipher) -> dict[str, Any]:
    """`values` for `table` with its secret columns encrypted (when `cipher` has a key)."""
    secret = SEALED_COLUMNS.get(table, ())
    return {k: cipher.seal(v) if k in secret else v for k, v in values.items()}


def unseal_row(table: sa.Table, row: sa.RowMapping, cipher: TokenCipher) -> dict[str, Any]:
    """A row of `table` with its secret columns readable; `StorageKeyError` if they are not."""
    secret = SEALED_COLUMNS.get(table, ())
    return {k: cipher.unseal(v) if k in secret else v for k, v in row.items()}


@dataclass(frozen=True)
class TokenCount:
    """How the stored token values are kept: encrypted, or still in plain text."""

    encrypted: int
    plain: int


async def check_stored_tokens(engine: AsyncEngine, cipher: TokenCipher) -> TokenCount:
    """Decrypt every stored token once; how many are encrypted and how many plain.

    Raises `StorageKeyError` (naming ``MAXIM_STORAGE_KEY``) at the first that cannot be
    read. Plain values with a key set are only counted: ``migrate --rotate-key`` encrypts
    them. A database without the Slack tables yet (never migrated) holds no token.
    """
    encrypted = plain = 0
    async with engine.connect() as conn:
        for table, columns in SEALED_COLUMNS.items():
            if not await conn.run_sync(_has_table, table.name):
                continue
            result = await conn.stream(sa.select(*(table.c[name] for name in columns)))
            async for row in result:
                for value in row:
                    if value is None:
                        continue
                    cipher.unseal(value)
                    if is_sealed(value):
                        encrypted += 1
                    else:
                        plain += 1
    return TokenCount(encrypted, plain)


def _has_table(conn: Connection, name: str) -> bool:
    return sa.inspect(conn).has_table(name)


async def reseal_stored_tokens(engine: AsyncEngine, cipher: TokenCipher) -> int:
    """Encrypt every stored token with the first key (plain ones too); how many values.

    One transaction, with the rows locked (``FOR UPDATE`` on PostgreSQL, the write lock on
    SQLite), so a token refreshed meanwhile by a running bot is never overwritten with its
    older value: the refresh waits, then writes its own. Nothing changes if any value cannot
    be decrypted (`StorageKeyError`).
    """
    count = 0
    async with engine.begin() as conn:
        for table, columns in SEALED_COLUMNS.items():
            selected = sa.select(table.c.id, *(table.c[name] for name in columns))
            for row in (await conn.execute(selected.with_for_update())).all():
                values = {
                    name: cipher.reseal(row._mapping[name])
                    for name in columns
                    if row._mapping[name] is not None
                }
                if values:
                    stmt = sa.update(table).where(table.c.id == row.id).values(values)
                    await conn.execute(stmt)
                    count += len(values)
    log.info("storage: %d Slack token value(s) encrypted with the first key", count)
    return count
