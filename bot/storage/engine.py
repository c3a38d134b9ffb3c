"""Opening the database at start: waiting for it to come up, then migrating it.

At start the database may not be up yet (a compose file, a reboot), so `open_engine` keeps
trying for ``storage.connect_timeout_seconds``, one WARNING line per attempt, then gives up
with `StorageUnavailable`; a database that answers but cannot be used is `StorageRefused` at
once. The engine it returns is bounded by ``storage.query_timeout_seconds`` (see
`bot.storage.backends`); the schema is brought to head by `bot.storage.schema`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.backends import QUERY_TIMEOUT_SECONDS, build_engine, describe_target
from bot.storage.outages import (
    StorageRefused,
    StorageUnavailable,
    describe_outage,
    short_error,
)
from bot.storage.schema import upgrade_schema

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS: Final = 60.0  # default of storage.connect_timeout_seconds
FIRST_RETRY_SECONDS: Final = 0.5
MAX_RETRY_SECONDS: Final = 10.0


async def _check_connection(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("SELECT 1"))


async def _attempt_open(engine: AsyncEngine, target: str) -> None:
    """Connect, then migrate; a database that answers but refuses us is `StorageRefused`."""
    try:
        await _check_connection(engine)
    except Exception as err:
        if describe_outage(err) is None:
            raise StorageRefused(f"cannot use {target} ({short_error(err)})") from None
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
