"""Slack OAuth on the bot's own database: the installation store (with token rotation) and states.

slack_sdk's SQLAlchemy stores keep their own `MetaData` (created with ``create_all``, outside
our Alembic migrations), write naive datetimes, and do not serialise writers the way the rest
of `bot.storage` does. These keep slack_sdk's semantics (the latest row wins, a user's own
installation, org-wide installs stored without a team) on our tables and transactions, where
every write transaction is ``BEGIN IMMEDIATE`` on SQLite (see `bot.storage.sqlite_pragmas`).

Why token rotation lives in the store: Bolt's authorize rotates an expiring token itself, in
each process independently, so two bot processes would both spend the refresh token, and the
loser of that race may store a token Slack already replaced. Here the refresh happens under a
cross-process lock (a transaction-scoped advisory lock on PostgreSQL, the ``BEGIN IMMEDIATE``
write lock on SQLite): the process that gets it reads the latest row again and refreshes only
if that is still near expiry, so a process that waited finds the fresh token and refreshes
nothing. The bot sets Bolt's own rotation threshold to 0 minutes, so Bolt never rotates a
token this store just returned (note: only `AsyncApp`'s ``oauth_settings`` keep a 0 there;
`AsyncInstallationStoreAuthorize` itself reads 0 as "the default, 120").

Requires an engine made by `bot.storage.backends.build_engine` (`open_engine` uses it): its
SQLite ``BEGIN IMMEDIATE`` is what makes the lock there. Imported lazily by the package, so
only a process that serves Slack OAuth pays for importing slack_sdk.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import aiohttp
import sqlalchemy as sa
from slack_sdk.errors import SlackApiError, SlackClientError, SlackTokenRotationError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.storage.base import StorageBase
from bot.storage.outages import describe_outage
from bot.storage.slack.oauth_states import SqlOAuthStateStore, utc_now
from bot.storage.slack.sealed_tokens import seal_values, unseal_row
from bot.storage.slack.tables import slack_bots, slack_installations
from bot.storage.token_cipher import TokenCipher

log = logging.getLogger(__name__)

__all__ = ["SqlInstallationStore", "SqlOAuthStateStore"]

REFRESH_BEFORE: Final = datetime.timedelta(hours=2)
TOKEN_LOCK_NAMESPACE: Final = 0x736C6B  # "slk": first key of pg_advisory_xact_lock(int, int)
_ROTATION_FAILURES: Final = (SlackClientError, aiohttp.ClientError, TimeoutError)
_ANY_ENTERPRISE: Final = object()  # `_latest_bot`: the team's bot, whatever its Grid org


class SqlInstallationStore(StorageBase, AsyncInstallationStore):
    """Slack installations and bots of one app (`client_id`), with tokens refreshed once.

    Args:
        engine: the bot's engine, schema at head (see the module docstring).
        client_id: the Slack app's client id; rows of other apps are invisible.
        rotator: refreshes rotating tokens; None stores and returns tokens as they are.
        refresh_before: a token expiring within this is refreshed when found.
        clock: returns the aware UTC now ("near expiry" is judged against it).
        cipher: encrypts the tokens at rest (``MAXIM_STORAGE_KEY``); none: plain text.

    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        client_id: str,
        rotator: AsyncTokenRotator | None = None,
        refresh_before: datetime.timedelta = REFRESH_BEFORE,
        clock: Callable[[], datetime.datetime] = utc_now,
        cipher: TokenCipher | None = None,
    ) -> None:
        """Wrap `engine`; nothing is read until the first call."""
        super().__init__(engine)
        self.client_id = client_id
        self.cipher = cipher or TokenCipher()
        self._rotator = rotator
        self._refresh_before = refresh_before
        self._clock = clock

    @property
    def engine(self) -> AsyncEngine:
        """The engine the rows live in (the start-up check of the stored tokens reads it)."""
        return self._engine

    @property
    def logger(self) -> logging.Logger:
        """The logger slack_sdk and Bolt expect every store to have."""
        return log

    # -- saving ------------------------------------------------------------------------------

    async def async_save(self, installation: Installation) -> None:
        """Store `installation` and its bot (one row each per installed_at), in one transaction."""
        async with self._engine.begin() as conn:
            await self._save_installation(conn, installation)
            await self._save_bot(conn, installation.to_bot())

    async def async_save_bot(self, bot: Bot) -> None:
        """Store `bot`: replaces the row with the same installed_at, else adds one."""
        async with self._engine.begin() as conn:
            await self._save_bot(conn, bot)

    async def _save_installation(self, conn: AsyncConnection, installation: Installation) -> None:
        values = self._columns(slack_installations, installation.to_dict())
        await _upsert(conn, slack_installations, values)

    async def _save_bot(self, conn: AsyncConnection, bot: Bot) -> None:
        await _upsert(conn, slack_bots, self._columns(slack_bots, bot.to_dict()))

    def _columns(self, table: sa.Table, model: dict[str, Any]) -> dict[str, Any]:
        """The row of `table` for a model's ``to_dict()``, tokens sealed; custom values dropped."""
        values = {k: v for k, v in model.items() if k in table.c and k != "id"}
        return seal_values(table, values | {"client_id": self.client_id}, self.cipher)

    # -- finding -----------------------------------------------------------------------------

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        """The latest bot with a token in the workspace (org for an org-wide install).

        A bot token near expiry is refreshed first (see the module docstring); if that fails,
        the stored bot is returned as it is.
        """
        team_id = None if is_enterprise_install or team_id is None else team_id
        async with self._reading() as conn:
            bot = await self._latest_bot(conn, enterprise_id, team_id)
        return await self._refreshed(bot)

    async def async_find_team_bot(self, team_id: str) -> Bot | None:
        """The latest bot installed in workspace `team_id` itself, in whatever Grid org.

        A daily post knows its workspace; a team installation inside an Enterprise Grid org is
        stored with the org's id too, and team ids are unique across Slack, so the team alone
        finds it. Refreshed as in `async_find_bot`.
        """
        async with self._reading() as conn:
            bot = await self._latest_bot(conn, _ANY_ENTERPRISE, team_id)
        return await self._refreshed(bot)

    async def async_installed_teams(self, enterprise_id: str) -> set[str]:
        """The workspaces of Grid org `enterprise_id` with an installation (a bot) of their own."""
        c = slack_bots.c
        stmt = sa.select(c.team_id).distinct()
        stmt = stmt.where(
            c.client_id == self.client_id,
            c.enterprise_id == enterprise_id,
            c.team_id.is_not(None),
            c.bot_token.is_not(None),
        )
        async with self._reading() as conn:
            return {str(team) for team in (await conn.scalars(stmt))}

    async def _refreshed(self, bot: Bot | None) -> Bot | None:
        """`bot`, its token refreshed first when near expiry; as it is if that fails."""
        if bot is None or not self._bot_due(bot):
            return bot
        enterprise_id, team_id = bot.enterprise_id, bot.team_id
        try:
            async with self._token_lock(enterprise_id, team_id) as conn:
                # Re-read: another process may have refreshed it while we waited for the lock.
                latest = await self._latest_bot(conn, enterprise_id, team_id)
                if latest is not None and self._bot_due(latest):
                    latest = await self._rotate_bot(conn, latest)
                return latest
        except Exception as err:
            if (outage := describe_outage(err)) is None:
                raise
            _log_lock_failure(outage)
            return bot

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The latest installation in the workspace (org), of `user_id` if given.

        Its bot fields are always the latest bot's (slack_sdk does that only for a user's
        installation): a bot token refreshed through `async_find_bot` updates the bot row
        alone. Tokens near expiry are refreshed first, as in `async_find_bot`.
        """
        team_id = None if is_enterprise_install or team_id is None else team_id
        async with self._reading() as conn:
            found = await self._latest_installation(conn, enterprise_id, team_id, user_id)
        if found is None or not (self._bot_due(found) or self._user_due(found)):
            return found
        try:
            async with self._token_lock(enterprise_id, team_id) as conn:
                # Re-read: another process may have refreshed them while we waited for the lock.
                latest = await self._latest_installation(conn, enterprise_id, team_id, user_id)
                if latest is not None and self._bot_due(latest):
                    # Rotate the bot row the fields came from (the installation's own if none).
                    bot = await self._latest_bot(conn, enterprise_id, team_id) or latest.to_bot()
                    _take_bot_fields(latest, await self._rotate_bot(conn, bot))
                if latest is not None and self._user_due(latest):
                    latest = await self._rotate_user(conn, latest)
                return latest
        except Exception as err:
            if (outage := describe_outage(err)) is None:
                raise
            _log_lock_failure(outage)
            return found

    async def _latest_bot(
        self, conn: AsyncConnection, enterprise_id: str | object | None, team_id: str | None
    ) -> Bot | None:
        """The latest bot with a token of (`enterprise_id` or `_ANY_ENTERPRISE`, `team_id`)."""
        c = slack_bots.c
        stmt = sa.select(slack_bots).where(
            c.client_id == self.client_id, c.team_id == team_id, c.bot_token.is_not(None)
        )
        if enterprise_id is not _ANY_ENTERPRISE:
            stmt = stmt.where(c.enterprise_id == enterprise_id)
        stmt = stmt.order_by(c.installed_at.desc(), c.id.desc()).limit(1)
        row = (await conn.execute(stmt)).first()
        return None if row is None else _bot_from_row(row, self.cipher)

    async def _latest_installation(
        self,
        conn: AsyncConnection,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
    ) -> Installation | None:
        """The latest installation (of `user_id`), its bot fields taken from the latest bot."""
        c = slack_installations.c
        stmt = sa.select(slack_installations).where(
            c.client_id == self.client_id, c.enterprise_id == enterprise_id, c.team_id == team_id
        )
        if user_id is not None:
            stmt = stmt.where(c.user_id == user_id)
        stmt = stmt.order_by(c.installed_at.desc(), c.id.desc()).limit(1)
        row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        installation = _installation_from_row(row, self.cipher)
        bot = await self._latest_bot(conn, enterprise_id, team_id)
        if bot is not None and bot.bot_token != installation.bot_token:
            _take_bot_fields(installation, bot)
        return installation

    # -- token rotation ----------------------------------------------------------------------

    def _due(self, expires_at: int | None, refresh_token: str | None) -> bool:
        """Whether a token expiring at `expires_at` (epoch seconds) should be refreshed now."""
        if self._rotator is None or expires_at is None or not refresh_token:
            return False
        return expires_at <= (self._clock() + self._refresh_before).timestamp()

    def _bot_due(self, bot: Bot | Installation) -> bool:
        return bool(bot.bot_token) and self._due(bot.bot_token_expires_at, bot.bot_refresh_token)

    def _user_due(self, installation: Installation) -> bool:
        return bool(installation.user_token) and self._due(
            installation.user_token_expires_at, installation.user_refresh_token
        )

    @contextlib.asynccontextmanager
    async def _token_lock(
        self, enterprise_id: str | None, team_id: str | None
    ) -> AsyncIterator[AsyncConnection]:
        """A write transaction holding the workspace's token lock across processes.

        On SQLite the engine's ``BEGIN IMMEDIATE`` is the lock (one writer at a time); on
        PostgreSQL an advisory lock, released when the transaction ends, so only after the
        refreshed token is committed.
        """
        async with self._engine.begin() as conn:
            if self._dialect == "postgresql":
                lock = sa.func.pg_advisory_xact_lock(
                    TOKEN_LOCK_NAMESPACE, _lock_key(enterprise_id, team_id)
                )
                await conn.execute(sa.select(lock))
            yield conn

    async def _rotate_bot(self, conn: AsyncConnection, bot: Bot) -> Bot:
        """Refresh `bot`'s token and save it on `conn`; on failure log it, return `bot` as is."""
        assert self._rotator is not None  # noqa: S101 - _bot_due said so
        try:
            fresh = await self._rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=_minutes_to_rotate(bot.bot_token_expires_at)
            )
        except _ROTATION_FAILURES as err:
            log.warning("bot token refresh failed for %s: %s", _workspace(bot), _reason(err))
            return bot
        if fresh is None:  # Slack answered with something other than a bot token
            log.warning("bot token refresh for %s: no bot token", _workspace(bot))
            return bot
        await self._save_bot(conn, fresh)
        log.info("bot token refreshed for %s", _workspace(fresh))
        return fresh

    async def _rotate_user(self, conn: AsyncConnection, installation: Installation) -> Installation:
        """Refresh the user token and save the installation; on failure return it as is."""
        assert self._rotator is not None  # noqa: S101 - _user_due said so
        minutes = _minutes_to_rotate(installation.user_token_expires_at)
        try:
            fresh = await self._rotator.perform_user_token_rotation(
                installation=installation, minutes_before_expiration=minutes
            )
        except _ROTATION_FAILURES as err:
            log.warning(
                "user token refresh failed for %s user %s: %s",
                _workspace(installation),
                installation.user_id,
                _reason(err),
            )
            return installation
        if fresh is None:
            log.warning("user token refresh for %s: no user token", _workspace(installation))
            return installation
        await self._save_installation(conn, fresh)
        log.info("user token refreshed for %s user %s", _workspace(fresh), fresh.user_id)
        return fresh

    # -- deleting ----------------------------------------------------------------------------

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete every bot row of the workspace (org)."""
        async with self._engine.begin() as conn:
            await conn.execute(self._deletion(slack_bots, enterprise_id, team_id))

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        """Delete the workspace's (org's) installations, only `user_id`'s if given."""
        stmt = self._deletion(slack_installations, enterprise_id, team_id)
        if user_id is not None:
            stmt = stmt.where(slack_installations.c.user_id == user_id)
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        """Delete the workspace's (org's) bots and installations, in one transaction."""
        async with self._engine.begin() as conn:
            await conn.execute(self._deletion(slack_bots, enterprise_id, team_id))
            await conn.execute(self._deletion(slack_installations, enterprise_id, team_id))

    def _deletion(self, table: sa.Table, enterprise_id: str | None, team_id: str | None) -> Any:
        c = table.c
        return sa.delete(table).where(
            c.client_id == self.client_id, c.enterprise_id == enterprise_id, c.team_id == team_id
        )


# -- rows <-> slack_sdk models -----------------------------------------------------------------


async def _upsert(conn: AsyncConnection, table: sa.Table, values: dict[str, Any]) -> None:
    """slack_sdk's save: replace the row of the same app, workspace and installed_at, or add."""
    c = table.c
    same = sa.and_(
        c.client_id == values["client_id"],
        c.enterprise_id == values["enterprise_id"],
        c.team_id == values["team_id"],
        c.installed_at == values["installed_at"],
    )
    row_id = await conn.scalar(sa.select(c.id).where(same).limit(1))
    if row_id is None:
        await conn.execute(sa.insert(table).values(values))
    else:
        await conn.execute(sa.update(table).where(c.id == row_id).values(values))


def _bot_from_row(row: sa.Row[Any], cipher: TokenCipher) -> Bot:
    fields = unseal_row(slack_bots, row._mapping, cipher)
    fields = {k: v for k, v in fields.items() if k not in ("id", "client_id")}
    return Bot(**fields | {"bot_scopes": row.bot_scopes or ""})


def _installation_from_row(row: sa.Row[Any], cipher: TokenCipher) -> Installation:
    fields = unseal_row(slack_installations, row._mapping, cipher)
    fields = {k: v for k, v in fields.items() if k not in ("id", "client_id")}
    scopes = {"bot_scopes": row.bot_scopes or "", "user_scopes": row.user_scopes or ""}
    return Installation(**fields | scopes)


def _take_bot_fields(installation: Installation, bot: Bot) -> None:
    """Give `installation` the bot identity and token of `bot` (as slack_sdk's find does)."""
    installation.bot_id = bot.bot_id
    installation.bot_user_id = bot.bot_user_id
    installation.bot_token = bot.bot_token
    installation.bot_scopes = bot.bot_scopes
    installation.bot_refresh_token = bot.bot_refresh_token
    installation.bot_token_expires_at = bot.bot_token_expires_at


# -- rotation helpers --------------------------------------------------------------------------


def _lock_key(enterprise_id: str | None, team_id: str | None) -> int:
    """A stable signed 32-bit key per workspace (a collision only serialises two of them)."""
    digest = hashlib.blake2b(f"{enterprise_id or ''}/{team_id or ''}".encode(), digest_size=4)
    return int.from_bytes(digest.digest(), "big", signed=True)


def _minutes_to_rotate(expires_at: int | None) -> int:
    """The rotator's threshold that makes it rotate a token expiring at `expires_at` now.

    We have decided already (against our clock and `refresh_before`); the rotator checks
    again against the wall clock, and must not second-guess us.
    """
    left = (expires_at or 0) - time.time()
    return max(0, math.ceil(left / 60)) + 1


def _reason(err: BaseException) -> str:
    """Slack's error code, or the exception's class: never the message (it may hold tokens)."""
    api_error = err.api_error if isinstance(err, SlackTokenRotationError) else err
    if isinstance(api_error, SlackApiError):
        return str(api_error.response.get("error") or "error")
    return type(err).__name__


def _workspace(found: Bot | Installation) -> str:
    return f"enterprise {found.enterprise_id}" if not found.team_id else f"team {found.team_id}"


def _log_lock_failure(outage: str) -> None:
    """One line for a refresh given up because the lock or the re-read took too long.

    A waiter on PostgreSQL is bounded by the statement timeout, and a refresh in another
    process may take longer; the token read before the lock is near expiry, not expired, so
    the caller goes on with it.
    """
    log.warning("token refresh skipped: storage did not answer in time (%s)", outage)
