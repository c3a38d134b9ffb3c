"""Slack OAuth states: signed and expiring when issued, remembered only once they come back.

The ``state`` parameter ties Slack's OAuth redirect back to the browser that started the
install (Bolt also checks it against the state cookie). Issuing one writes nothing: it is
``<expiry>.<nonce>.<signature>``, an HMAC-SHA256 over the expiry (POSIX seconds) and a random
nonce, with a key derived from the app's client secret. So a visit to ``/slack/install``,
however many there are, costs no database row, and any bot process can check a state another
one issued.

Consuming a state checks its signature and expiry, then records it as used in the shared
database: an insert that does nothing if the state is there already, so of two processes
handed the same state, exactly one gets it. Used states are kept until they would have
expired anyway (after that the signature check refuses them), and pruned on the way.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any, Final

import sqlalchemy as sa
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.base import StorageBase
from bot.storage.slack.tables import slack_oauth_states
from bot.storage.tables import as_utc, insert_into

log = logging.getLogger(__name__)

STATE_SECONDS: Final = 600  # slack_sdk's and Bolt's default for an install to complete
NONCE_BYTES: Final = 16
KEY_PURPOSE: Final = b"maxim-bot slack oauth state v1"  # the derived key signs states only
_STATE = re.compile(r"([0-9]{1,12})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})")


def utc_now() -> datetime.datetime:
    """The aware UTC now: the stores' default clock."""
    return datetime.datetime.now(datetime.UTC)


def state_key(client_secret: str) -> bytes:
    """The key that signs states, derived from the client secret (never the secret itself)."""
    return hmac.new(client_secret.encode(), KEY_PURPOSE, hashlib.sha256).digest()


class SqlOAuthStateStore(StorageBase, AsyncOAuthStateStore):
    """OAuth states signed with `key`, valid `expiration_seconds`, consumed once.

    Args:
        engine: the bot's engine, schema at head.
        key: signs and checks states (`state_key` of the client secret).
        expiration_seconds: how long an issued state stays valid.
        clock: returns the aware UTC now (tests move it to expire states).

    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        key: bytes,
        expiration_seconds: int = STATE_SECONDS,
        clock: Callable[[], datetime.datetime] = utc_now,
    ) -> None:
        """Wrap `engine`; nothing is written until a state comes back."""
        super().__init__(engine)
        self.expiration_seconds = expiration_seconds
        self._key = key
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        """The logger slack_sdk and Bolt expect every store to have."""
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        """A new signed state, valid for `expiration_seconds`; nothing is stored."""
        expires = int(self._clock().timestamp()) + self.expiration_seconds
        nonce = _encode(secrets.token_bytes(NONCE_BYTES))
        return f"{expires}.{nonce}.{self._sign(expires, nonce)}"

    async def async_consume(self, state: str) -> bool:
        """True once for a state this app signed that has not expired; False otherwise."""
        now = as_utc(self._clock())
        expires = self._valid_until(state, now)
        if expires is None:
            log.info("OAuth state refused: not one of ours, or expired")
            return False
        c = slack_oauth_states.c
        stmt = (
            insert_into(self._dialect, slack_oauth_states)
            .values(state=state, expire_at=expires)
            .on_conflict_do_nothing()
            .returning(c.id)
        )
        async with self._engine.begin() as conn:
            await conn.execute(sa.delete(slack_oauth_states).where(c.expire_at <= now))
            first = (await conn.execute(stmt)).first() is not None
        if not first:
            log.info("OAuth state refused: already used")
        return first

    def _valid_until(self, state: str, now: datetime.datetime) -> datetime.datetime | None:
        """When `state` expires, if it is well formed, signed with our key and still valid."""
        found = _STATE.fullmatch(state)
        if found is None:
            return None
        expires, nonce, signature = found.groups()
        if not hmac.compare_digest(self._sign(int(expires), nonce), signature):
            return None
        until = datetime.datetime.fromtimestamp(int(expires), datetime.UTC)
        return until if until > now else None

    def _sign(self, expires: int, nonce: str) -> str:
        message = f"{expires}.{nonce}".encode()
        return _encode(hmac.new(self._key, message, hashlib.sha256).digest())


def _encode(raw: bytes) -> str:
    """URL- and cookie-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")
