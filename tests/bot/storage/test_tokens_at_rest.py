"""Slack tokens encrypted at rest with ``MAXIM_STORAGE_KEY``; rows from before the key; rotation.

Every test runs on real SQLite and real PostgreSQL (`db_url`). What the database holds is
read with plain SQL, past the store, as anyone with a copy of the file would read it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.__main__ import main
from bot.storage import SqlInstallationStore, migrate
from bot.storage.backends import build_engine, normalise_url
from bot.storage.slack.sealed_tokens import TokenCount, check_stored_tokens
from bot.storage.slack.tables import SEALED_COLUMNS, slack_bots, slack_installations
from bot.storage.token_cipher import SEALED_PREFIX, StorageKeyError, TokenCipher
from tests.bot.storage.test_slack_installations import (
    CLIENT_ID,
    CLIENT_SECRET,
    expiring_in,
    installation,
    issued,
    refreshes,
    rotator,
)
from tests.fakes.slack.api import FakeSlack

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()
SECRETS = {
    "bot_token": "xoxb-T1-secret",
    "bot_refresh_token": "xoxe-1-bot-refresh",
    "user_token": "xoxp-U1-secret",
    "user_refresh_token": "xoxe-1-user-refresh",
    "incoming_webhook_url": "https://hooks.slack.com/services/T1/B1/webhook-secret",
}


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    await migrate(db_url)
    engine = build_engine(normalise_url(db_url))
    yield engine
    await engine.dispose()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """The Slack emulator, with the app registered: it refreshes the tokens it is told of."""
    async with FakeSlack() as fake:
        fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
        yield fake


def with_secrets() -> object:
    return installation(**SECRETS, bot_token_expires_at=expiring_in(600))


async def raw_values(engine: AsyncEngine) -> list[object]:
    """Every value of every row of the installation and bot tables, as stored."""
    values: list[object] = []
    async with engine.connect() as conn:
        for table in (slack_installations, slack_bots):
            for row in await conn.execute(sa.select(table)):
                values += list(row)
    return values


async def raw_tokens(engine: AsyncEngine) -> list[str]:
    """The stored values of the secret columns (NULLs left out)."""
    found: list[str] = []
    async with engine.connect() as conn:
        for table, columns in SEALED_COLUMNS.items():
            for row in await conn.execute(sa.select(*(table.c[c] for c in columns))):
                found += [v for v in row if v is not None]
    return found


def store_with(engine: AsyncEngine, *keys: str) -> SqlInstallationStore:
    return SqlInstallationStore(engine, client_id=CLIENT_ID, cipher=TokenCipher(keys))


async def test_with_a_key_the_database_holds_no_token_and_the_store_reads_them_all(
    engine: AsyncEngine,
):
    store = store_with(engine, NEW_KEY)
    await store.async_save(with_secrets())

    stored = " ".join(str(v) for v in await raw_values(engine))
    for name, secret in SECRETS.items():
        assert secret not in stored, name
    assert len(await raw_tokens(engine)) == 7  # five in the installation, two in the bot row
    assert all(v.startswith(SEALED_PREFIX) for v in await raw_tokens(engine))

    found = await store.async_find_installation(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert {name: getattr(found, name) for name in SECRETS} == SECRETS
    bot = await store.async_find_bot(enterprise_id="E1", team_id="T1")
    assert bot is not None
    assert (bot.bot_token, bot.bot_refresh_token) == ("xoxb-T1-secret", "xoxe-1-bot-refresh")


async def test_a_refreshed_token_is_stored_encrypted_too(engine: AsyncEngine, slack: FakeSlack):
    slack.accept_refresh_token("xoxe-1-bot-old")
    store = SqlInstallationStore(
        engine, client_id=CLIENT_ID, rotator=rotator(slack), cipher=TokenCipher([NEW_KEY])
    )
    await store.async_save(
        installation(bot_refresh_token="xoxe-1-bot-old", bot_token_expires_at=expiring_in(30))
    )
    fresh = await store.async_find_bot(enterprise_id="E1", team_id="T1")
    assert fresh is not None
    (refresh,) = refreshes(slack)
    access_token, refresh_token = issued(refresh)
    assert fresh.bot_token == access_token
    stored = " ".join(str(v) for v in await raw_values(engine))
    assert access_token not in stored
    assert refresh_token not in stored


async def test_rows_from_before_the_key_stay_readable_until_rotate_key_encrypts_them(
    engine: AsyncEngine, db_url: str, tmp_path: Path, monkeypatch
):
    await store_with(engine).async_save(with_secrets())  # no key yet: plain text
    keyed = store_with(engine, NEW_KEY)
    found = await keyed.async_find_installation(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert found.user_token == SECRETS["user_token"]
    assert await check_stored_tokens(engine, TokenCipher([NEW_KEY])) == TokenCount(
        encrypted=0, plain=7
    )

    assert await rotate_key(db_url, NEW_KEY, tmp_path, monkeypatch) == 0

    assert await check_stored_tokens(engine, TokenCipher([NEW_KEY])) == TokenCount(
        encrypted=7, plain=0
    )
    stored = " ".join(str(v) for v in await raw_values(engine))
    assert not any(secret in stored for secret in SECRETS.values())
    found = await keyed.async_find_installation(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert {name: getattr(found, name) for name in SECRETS} == SECRETS


async def test_rotate_key_with_two_keys_encrypts_everything_with_the_first(
    engine: AsyncEngine, db_url: str, tmp_path: Path, monkeypatch
):
    await store_with(engine, OLD_KEY).async_save(with_secrets())
    before = await raw_tokens(engine)

    assert await rotate_key(db_url, f"{NEW_KEY}, {OLD_KEY}", tmp_path, monkeypatch) == 0

    after = await raw_tokens(engine)
    assert len(after) == len(before) == 7
    assert not set(after) & set(before)
    new_only = Fernet(NEW_KEY)
    assert {new_only.decrypt(v.removeprefix(SEALED_PREFIX)).decode() for v in after} == set(
        SECRETS.values()
    )
    with pytest.raises(InvalidToken):
        Fernet(OLD_KEY).decrypt(after[0].removeprefix(SEALED_PREFIX))
    found = await store_with(engine, NEW_KEY).async_find_bot(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert found.bot_token == SECRETS["bot_token"]  # the old key is no longer needed


@pytest.mark.parametrize("keys", [(), (OLD_KEY,)], ids=["no key", "the wrong key"])
async def test_encrypted_tokens_without_their_key_are_one_line_naming_the_variable(
    engine: AsyncEngine, keys: tuple[str, ...]
):
    await store_with(engine, NEW_KEY).async_save(with_secrets())
    with pytest.raises(StorageKeyError) as raised:
        await check_stored_tokens(engine, TokenCipher(keys))
    message = str(raised.value)
    assert message.startswith("MAXIM_STORAGE_KEY: ")
    assert "\n" not in message
    assert NEW_KEY not in message
    assert OLD_KEY not in message
    assert raised.value.exit_status == 2


async def test_rotate_key_stops_at_a_token_no_key_decrypts_and_changes_nothing(
    engine: AsyncEngine, db_url: str, tmp_path: Path, monkeypatch, capsys
):
    await store_with(engine, OLD_KEY).async_save(with_secrets())
    before = await raw_tokens(engine)
    assert await rotate_key(db_url, NEW_KEY, tmp_path, monkeypatch) == 2  # old key left out
    assert await raw_tokens(engine) == before
    err = capsys.readouterr().err
    assert err.startswith("maxim-bot: MAXIM_STORAGE_KEY: none of its keys decrypts")
    assert NEW_KEY not in err


async def rotate_key(db_url: str, keys: str, tmp_path: Path, monkeypatch) -> int:
    """``maxim-bot migrate --rotate-key`` with ``MAXIM_STORAGE_KEY=keys``; its exit status."""
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "{db_url}"\n', encoding="utf-8")
    monkeypatch.setenv("MAXIM_STORAGE_KEY", keys)
    # main() runs its own event loop: give it a thread of its own.
    return await asyncio.to_thread(main, ["migrate", "-c", str(config), "--rotate-key"])
