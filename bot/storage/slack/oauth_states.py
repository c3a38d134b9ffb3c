"""Slack OAuth states on the bot's database: issued once, consumed at most once, then gone.

The ``state`` parameter ties Slack's OAuth redirect back to the browser that started the
install. With several bot processes behind one URL, the redirect may reach another process
than the one that issued it, so states live in the shared database, and consuming one is a
single ``DELETE ... RETURNING``: of two processes handed the same state, exactly one gets it.
"""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Callable
from typing import Any, Final

import sqlalchemy as sa
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.base import StorageBase
from bot.storage.slack.tables import slack_oauth_states
from bot.storage.tables import as_utc

log = logging.getLogger(__name__)

STATE_SECONDS: Final = 600  # slack_sdk's and Bolt's default for an install to complete
STATE_BYTES: Final = 32  # of randomness, as secrets.token_urlsafe counts them


def utc_now() -> datetime.datetime:
    """The aware UTC now: the stores' default clock."""
    return datetime.datetime.now(datetime.UTC)


class SqlOAuthStateStore(StorageBase, AsyncOAuthStateStore):
    """OAuth states that expire after `expiration_seconds` and are consumed once.

    Args:
        engine: the bot's engine, schema at head.
        expiration_seconds: how long an issued state stays valid.
        clock: returns the aware UTC now (tests move it to expire states).

    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        expiration_seconds: int = STATE_SECONDS,
        clock: Callable[[], datetime.datetime] = utc_now,
    ) -> None:
        """Wrap `engine`; nothing is written until the first state is issued."""
        super().__init__(engine)
        self.expiration_seconds = expiration_seconds
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        """The logger slack_sdk and Bolt expect every store to have."""
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new random state, valid for `expiration_seconds`; expired ones are dropped here.

        Abandoned installs leave their states behind, and this is the one place that writes
        them, so pruning here keeps the table as small as the installs in progress.
        """
        state = secrets.token_urlsafe(STATE_BYTES)
        now = as_utc(self._clock())
        expire_at = now + datetime.timedelta(seconds=self.expiration_seconds)
        async with self._engine.begin() as conn:
            await conn.execute(
                sa.delete(slack_oauth_states).where(slack_oauth_states.c.expire_at <= now)
            )
            await conn.execute(
                sa.insert(slack_oauth_states).values(state=state, expire_at=expire_at)
            )
        return state

    async def async_consume(self, state: str) -> bool:
        """True once for an issued, unexpired `state`, which is deleted; False otherwise."""
        c = slack_oauth_states.c
        stmt = (
            sa.delete(slack_oauth_states)
            .where(c.state == state, c.expire_at > as_utc(self._clock()))
            .returning(c.id)
        )
        async with self._engine.begin() as conn:
            consumed = (await conn.execute(stmt)).first() is not None
        if not consumed:
            log.info("OAuth state refused: unknown, expired or already used")
        return consumed
