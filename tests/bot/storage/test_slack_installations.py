"""Slack OAuth stores on the bot's database: installations, bots, states and token rotation.

Every test runs on real SQLite and real PostgreSQL (`db_url`). Rotation goes through a real
`AsyncTokenRotator` and `AsyncWebClient` to the Slack emulator's ``oauth.v2.access``
(`tests.fakes.slack.oauth`), told which refresh tokens the stored rows hold; "refreshed once
across processes" is checked with two stores on two engines of their own, racing on one
database.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import SqlInstallationStore, SqlOAuthStateStore, migrate
from bot.storage.backends import build_engine, normalise_url
from bot.storage.schema import MIGRATIONS_DIR
from bot.storage.slack.oauth_states import state_key
from bot.storage.slack.tables import slack_bots, slack_installations, slack_oauth_states
from tests.fakes.slack.api import Call, FakeSlack
from tests.fakes.slack.oauth import DEFAULT_EXPIRES_IN
from tests.helpers import Clock, race

CLIENT_ID = "111.222"
CLIENT_SECRET = "secret"
KEY = state_key(CLIENT_SECRET)
T1 = dt.datetime(2026, 11, 1, 8, 0, 0, 123456, tzinfo=dt.UTC)
T2 = T1 + dt.timedelta(days=3)

# slack_sdk's own use of aiohttp (BasicAuth for client_id/secret), not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


@pytest.fixture
async def new_engine(db_url: str) -> AsyncIterator[Callable[[], AsyncEngine]]:
    """Makes engines on one database at head; each is a process of its own, as far as locks go."""
    await migrate(db_url)
    engines: list[AsyncEngine] = []

    def make() -> AsyncEngine:
        engines.append(build_engine(normalise_url(db_url)))
        return engines[-1]

    yield make
    for engine in engines:
        await engine.dispose()


@pytest.fixture
def store(new_engine: Callable[[], AsyncEngine]) -> SqlInstallationStore:
    return SqlInstallationStore(new_engine(), client_id=CLIENT_ID)


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    """The Slack emulator, with the app registered: it refreshes the tokens it is told of."""
    async with FakeSlack() as fake:
        fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
        yield fake


def rotator(fake: FakeSlack) -> AsyncTokenRotator:
    return AsyncTokenRotator(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        client=AsyncWebClient(base_url=fake.url),
    )


def refreshes(fake: FakeSlack) -> list[Call]:
    """Every ``oauth.v2.access`` the emulator answered, with what it answered."""
    return fake.calls_to("oauth.v2.access")


def issued(call: Call) -> tuple[str, str]:
    """The new (access token, refresh token) a successful refresh answered with."""
    assert call.ok, call.error
    return call.response["access_token"], call.response["refresh_token"]


def bot(team: str | None = "T1", *, at: dt.datetime = T1, **fields: Any) -> Bot:
    values: dict[str, Any] = {
        "app_id": "A1",
        "enterprise_id": None,
        "enterprise_name": None,
        "team_id": team,
        "team_name": f"Team {team}",
        "bot_token": f"xoxb-{team}-{at:%d}",
        "bot_id": "B1",
        "bot_user_id": "UB1",
        "bot_scopes": "chat:write,commands",
        "installed_at": at,
    }
    return Bot(**values | fields)


def installation(
    team: str | None = "T1", user: str = "U1", *, at: dt.datetime = T1, **fields: Any
) -> Installation:
    values: dict[str, Any] = {
        "app_id": "A1",
        "enterprise_id": "E1",
        "enterprise_name": "Org",
        "enterprise_url": "https://org.enterprise.slack.com/",
        "team_id": team,
        "team_name": f"Team {team}",
        "bot_token": f"xoxb-{team}-{at:%d}",
        "bot_id": "B1",
        "bot_user_id": "UB1",
        "bot_scopes": "chat:write,commands",
        "bot_refresh_token": None,
        "bot_token_expires_at": None,
        "user_id": user,
        "user_token": f"xoxp-{user}-{at:%d}",
        "user_scopes": "search:read",
        "incoming_webhook_url": "https://hooks.slack.com/services/T1/B1/x",
        "incoming_webhook_channel": "#general",
        "incoming_webhook_channel_id": "C1",
        "incoming_webhook_configuration_url": "https://org.slack.com/services/B1",
        "token_type": "bot",
        "installed_at": at,
    }
    return Installation(**values | fields)


def expiring_in(minutes: float) -> int:
    """An expiry (epoch seconds) `minutes` from now: the rotator compares with the wall clock."""
    return int(time.time() + minutes * 60)


async def count(engine: AsyncEngine, table: sa.Table) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


# -- installations and bots -------------------------------------------------------------------


async def test_a_bot_comes_back_with_every_field(store: SqlInstallationStore) -> None:
    saved = bot(bot_refresh_token="xoxe-1-r", bot_token_expires_at=expiring_in(600))
    await store.async_save_bot(saved)
    found = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert found is not None
    assert found.to_dict() == saved.to_dict()
    assert found.to_dict()["installed_at"] == T1  # microseconds and UTC survive


async def test_an_installation_comes_back_with_every_field(store: SqlInstallationStore) -> None:
    saved = installation(
        bot_refresh_token="xoxe-1-bot",
        bot_token_expires_at=expiring_in(600),
        user_refresh_token="xoxe-1-user",
        user_token_expires_at=expiring_in(700),
    )
    await store.async_save(saved)
    found = await store.async_find_installation(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert found.to_dict() == saved.to_dict()
    found_bot = await store.async_find_bot(enterprise_id="E1", team_id="T1")
    assert found_bot is not None
    assert found_bot.to_dict() == saved.to_bot().to_dict()


async def test_the_latest_installation_wins(store: SqlInstallationStore) -> None:
    await store.async_save(installation(at=T2))
    await store.async_save(installation(at=T1))  # saved later, installed earlier
    await store.async_save(installation(at=T2))  # the same installation again: replaced
    found = await store.async_find_installation(enterprise_id="E1", team_id="T1")
    found_bot = await store.async_find_bot(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert found_bot is not None
    assert (found.bot_token, found.installed_at) == (f"xoxb-T1-{T2:%d}", T2.timestamp())
    assert found_bot.bot_token == f"xoxb-T1-{T2:%d}"
    assert await count(store._engine, slack_installations) == 2
    assert await count(store._engine, slack_bots) == 2


async def test_a_user_finds_their_own_installation_with_the_latest_bot(
    store: SqlInstallationStore,
) -> None:
    await store.async_save(installation(user="U1", at=T1))
    await store.async_save(installation(user="U2", at=T2))
    mine = await store.async_find_installation(enterprise_id="E1", team_id="T1", user_id="U1")
    latest = await store.async_find_installation(enterprise_id="E1", team_id="T1")
    assert mine is not None
    assert latest is not None
    assert (mine.user_id, mine.user_token) == ("U1", f"xoxp-U1-{T1:%d}")
    assert mine.bot_token == f"xoxb-T1-{T2:%d}"  # the workspace's latest bot
    assert (latest.user_id, latest.user_token) == ("U2", f"xoxp-U2-{T2:%d}")
    assert (
        await store.async_find_installation(enterprise_id="E1", team_id="T1", user_id="U3") is None
    )


async def test_an_org_wide_installation_is_found_from_any_team(
    store: SqlInstallationStore,
) -> None:
    await store.async_save(installation(team=None, is_enterprise_install=True))
    for team in ("T7", None):
        found = await store.async_find_installation(
            enterprise_id="E1", team_id=team, is_enterprise_install=True
        )
        found_bot = await store.async_find_bot(
            enterprise_id="E1", team_id=team, is_enterprise_install=True
        )
        assert found is not None
        assert found_bot is not None
        assert (found.is_enterprise_install, found.team_id) == (True, None)
        assert found_bot.is_enterprise_install
    # without the flag, a team id means that team's own installation: there is none
    assert await store.async_find_bot(enterprise_id="E1", team_id="T7") is None


async def test_a_workspace_finds_its_own_bot_in_whatever_org_and_never_the_orgs(
    store: SqlInstallationStore, new_engine: Callable[[], AsyncEngine]
) -> None:
    await store.async_save_bot(bot("T1", enterprise_id="E1", bot_token="xoxb-own"))
    await store.async_save_bot(bot("T2"))  # no org
    await store.async_save_bot(
        bot(None, enterprise_id="E1", is_enterprise_install=True, bot_token="xoxb-org")
    )
    await store.async_save_bot(bot("T3", enterprise_id="E1", bot_token=None))  # no token
    other = SqlInstallationStore(new_engine(), client_id="999.999")
    await other.async_save_bot(bot("T4", enterprise_id="E1"))

    own = await store.async_find_team_bot("T1")
    lone = await store.async_find_team_bot("T2")

    assert own is not None
    assert (own.enterprise_id, own.bot_token) == ("E1", "xoxb-own")
    assert lone is not None
    assert lone.team_id == "T2"
    assert await store.async_find_team_bot("T7") is None  # the org's bot is no team's own
    assert await store.async_find_team_bot("T3") is None
    assert await store.async_installed_teams("E1") == {"T1"}  # not T3 (no token), not T4
    assert await store.async_installed_teams("E9") == set()


async def test_another_app_sees_nothing(
    store: SqlInstallationStore, new_engine: Callable[[], AsyncEngine]
) -> None:
    await store.async_save(installation())
    other = SqlInstallationStore(new_engine(), client_id="999.999")
    assert await other.async_find_installation(enterprise_id="E1", team_id="T1") is None
    assert await other.async_find_bot(enterprise_id="E1", team_id="T1") is None


async def test_deleting_touches_only_the_team_and_user_named(store: SqlInstallationStore) -> None:
    for team in ("T1", "T2"):
        await store.async_save(installation(team, "U1", at=T1))
        await store.async_save(installation(team, "U2", at=T2))

    async def found(team: str, user: str | None = None) -> Any:
        return await store.async_find_installation(enterprise_id="E1", team_id=team, user_id=user)

    await store.async_delete_installation(enterprise_id="E1", team_id="T1", user_id="U1")
    assert await found("T1", "U1") is None
    assert await found("T1", "U2") is not None
    await store.async_delete_bot(enterprise_id="E1", team_id="T1")
    assert await store.async_find_bot(enterprise_id="E1", team_id="T1") is None
    assert await found("T1", "U2") is not None  # installations stay
    await store.async_delete_all(enterprise_id="E1", team_id="T1")
    assert await found("T1") is None
    assert await found("T2", "U1") is not None
    assert await store.async_find_bot(enterprise_id="E1", team_id="T2") is not None
    await store.async_delete_installation(enterprise_id="E1", team_id="T2")  # every user's
    assert await found("T2") is None


# -- OAuth states -----------------------------------------------------------------------------


async def test_issuing_a_state_writes_nothing(new_engine: Callable[[], AsyncEngine]) -> None:
    states = SqlOAuthStateStore(new_engine(), key=KEY)
    issued_states = {await states.async_issue() for _ in range(50)}
    assert len(issued_states) == 50
    assert await count(states._engine, slack_oauth_states) == 0


async def test_a_state_is_consumed_once(new_engine: Callable[[], AsyncEngine]) -> None:
    states = SqlOAuthStateStore(new_engine(), key=KEY)
    state = await states.async_issue()
    other = await states.async_issue()
    assert state != other
    assert await states.async_consume(state)
    assert not await states.async_consume(state)
    assert await states.async_consume(other)
    assert await count(states._engine, slack_oauth_states) == 2  # remembered as used


async def test_an_expired_state_is_refused(new_engine: Callable[[], AsyncEngine]) -> None:
    clock = Clock(T1)
    states = SqlOAuthStateStore(new_engine(), key=KEY, expiration_seconds=600, clock=clock)
    state = await states.async_issue()
    clock.advance(seconds=599)
    later = await states.async_issue()
    assert await states.async_consume(later)
    clock.advance(seconds=1)
    assert not await states.async_consume(state)
    assert await count(states._engine, slack_oauth_states) == 1  # only the one used


def forgeries(state: str) -> list[str]:
    """What a stranger could make of a state they saw (or of nothing)."""
    expires, nonce, signature = state.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        f"{int(expires) + 3600}.{nonce}.{signature}",  # a longer life
        f"{expires}.{'A' * len(nonce)}.{signature}",  # another nonce
        f"{expires}.{nonce}.{flipped}",  # another signature
        f"{expires}.{nonce}.",
        f"{expires}.{nonce}",
        "never-issued",
        "",
        "1" * 200,
        f"{expires}.{nonce}.{signature}\n",
        f"{expires}.{nonce}.{signature}é",
    ]


async def test_a_forged_state_is_refused(new_engine: Callable[[], AsyncEngine]) -> None:
    states = SqlOAuthStateStore(new_engine(), key=KEY)
    state = await states.async_issue()
    for forged in forgeries(state):
        assert not await states.async_consume(forged), forged
    other_app = SqlOAuthStateStore(states._engine, key=state_key("another app's secret"))
    assert not await states.async_consume(await other_app.async_issue())
    assert await states.async_consume(state)  # the real one still works, once
    assert await count(states._engine, slack_oauth_states) == 1


async def test_used_states_are_pruned_once_they_would_have_expired(
    new_engine: Callable[[], AsyncEngine],
) -> None:
    clock = Clock(T1)
    states = SqlOAuthStateStore(new_engine(), key=KEY, expiration_seconds=600, clock=clock)
    assert await states.async_consume(await states.async_issue())
    clock.advance(seconds=600)
    assert await states.async_consume(await states.async_issue())  # drops the expired one
    assert await count(states._engine, slack_oauth_states) == 1


async def test_two_processes_consume_a_state_once(new_engine: Callable[[], AsyncEngine]) -> None:
    a, b = (SqlOAuthStateStore(new_engine(), key=KEY) for _ in range(2))
    for _ in range(5):
        state = await a.async_issue()
        assert sorted(await race(a.async_consume(state), b.async_consume(state))) == [False, True]


# -- token rotation ---------------------------------------------------------------------------


async def test_an_expiring_bot_token_is_refreshed_and_saved(
    new_engine: Callable[[], AsyncEngine], slack: FakeSlack
) -> None:
    store = SqlInstallationStore(new_engine(), client_id=CLIENT_ID, rotator=rotator(slack))
    slack.accept_refresh_token("xoxe-1-bot-old")
    await store.async_save_bot(
        bot(bot_refresh_token="xoxe-1-bot-old", bot_token_expires_at=expiring_in(30))
    )
    found = await store.async_find_bot(enterprise_id=None, team_id="T1")
    again = await store.async_find_bot(enterprise_id=None, team_id="T1")
    [call] = refreshes(slack)
    assert (call.body["grant_type"], call.body["refresh_token"]) == (
        "refresh_token",
        "xoxe-1-bot-old",
    )
    for fresh in (found, again):
        assert fresh is not None
        assert (fresh.bot_token, fresh.bot_refresh_token) == issued(call)
        assert fresh.bot_token_expires_at is not None
        assert fresh.bot_token_expires_at >= expiring_in(DEFAULT_EXPIRES_IN / 60) - 5
        assert fresh.installed_at == T1.timestamp()  # the same row, updated
    assert await count(store._engine, slack_bots) == 1


async def test_a_token_not_near_expiry_is_not_refreshed(
    new_engine: Callable[[], AsyncEngine], slack: FakeSlack
) -> None:
    store = SqlInstallationStore(new_engine(), client_id=CLIENT_ID, rotator=rotator(slack))
    await store.async_save(
        installation(
            bot_refresh_token="xoxe-1-bot-old",
            bot_token_expires_at=expiring_in(121),
            user_refresh_token="xoxe-1-user-old",
            user_token_expires_at=expiring_in(180),
        )
    )
    found = await store.async_find_installation(enterprise_id="E1", team_id="T1")
    assert found is not None
    assert found.bot_token == f"xoxb-T1-{T1:%d}"
    assert refreshes(slack) == []


async def test_the_clock_and_refresh_before_decide_what_is_near_expiry(
    new_engine: Callable[[], AsyncEngine], slack: FakeSlack
) -> None:
    clock = Clock(dt.datetime.now(dt.UTC))
    store = SqlInstallationStore(
        new_engine(),
        client_id=CLIENT_ID,
        rotator=rotator(slack),
        refresh_before=dt.timedelta(minutes=10),
        clock=clock,
    )
    slack.accept_refresh_token("r")
    await store.async_save_bot(bot(bot_refresh_token="r", bot_token_expires_at=expiring_in(30)))
    assert (await store.async_find_bot(enterprise_id=None, team_id="T1")) is not None
    assert refreshes(slack) == []
    clock.advance(minutes=21)  # 9 minutes left by our clock, 30 by the wall clock
    found = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert found is not None
    [call] = refreshes(slack)
    assert found.bot_token == issued(call)[0]


async def test_expiring_tokens_of_an_installation_are_refreshed(
    new_engine: Callable[[], AsyncEngine], slack: FakeSlack
) -> None:
    store = SqlInstallationStore(new_engine(), client_id=CLIENT_ID, rotator=rotator(slack))
    slack.accept_refresh_token("xoxe-1-bot-old")
    slack.accept_refresh_token("xoxe-1-user-old", kind="user")
    await store.async_save(
        installation(
            bot_refresh_token="xoxe-1-bot-old",
            bot_token_expires_at=expiring_in(10),
            user_refresh_token="xoxe-1-user-old",
            user_token_expires_at=expiring_in(-5),  # already expired
        )
    )
    found = await store.async_find_installation(enterprise_id="E1", team_id="T1", user_id="U1")
    assert found is not None
    spent = {c.body["refresh_token"]: issued(c)[0] for c in refreshes(slack)}
    assert sorted(spent) == ["xoxe-1-bot-old", "xoxe-1-user-old"]
    assert (found.bot_token, found.user_token) == (
        spent["xoxe-1-bot-old"],
        spent["xoxe-1-user-old"],
    )
    assert found.user_token.startswith("xoxp-")
    # both were saved: nothing is refreshed again, by either finder
    again = await store.async_find_installation(enterprise_id="E1", team_id="T1", user_id="U1")
    found_bot = await store.async_find_bot(enterprise_id="E1", team_id="T1")
    assert again is not None
    assert found_bot is not None
    assert (again.bot_token, again.user_token) == (found.bot_token, found.user_token)
    assert found_bot.bot_token == found.bot_token
    assert len(refreshes(slack)) == 2


async def test_a_bot_refreshed_by_find_bot_is_what_find_installation_returns(
    new_engine: Callable[[], AsyncEngine], slack: FakeSlack
) -> None:
    store = SqlInstallationStore(new_engine(), client_id=CLIENT_ID, rotator=rotator(slack))
    slack.accept_refresh_token("xoxe-1-bot-old")
    await store.async_save(
        installation(bot_refresh_token="xoxe-1-bot-old", bot_token_expires_at=expiring_in(10))
    )
    assert (await store.async_find_bot(enterprise_id="E1", team_id="T1")) is not None
    found = await store.async_find_installation(enterprise_id="E1", team_id="T1")
    assert found is not None
    [call] = refreshes(slack)
    assert found.bot_token == issued(call)[0]


async def test_two_processes_refresh_a_token_once(
    new_engine: Callable[[], AsyncEngine], slack: FakeSlack
) -> None:
    """The cross-process guarantee: advisory lock (PostgreSQL) / BEGIN IMMEDIATE (SQLite)."""
    a, b = (
        SqlInstallationStore(new_engine(), client_id=CLIENT_ID, rotator=rotator(slack))
        for _ in range(2)
    )
    slack.accept_refresh_token("xoxe-1-bot-old")
    slack.slow_down("oauth.v2.access", 0.3)  # the other finders reach the lock meanwhile
    await a.async_save(
        installation(bot_refresh_token="xoxe-1-bot-old", bot_token_expires_at=expiring_in(10))
    )
    found = await race(
        a.async_find_bot(enterprise_id="E1", team_id="T1"),
        b.async_find_bot(enterprise_id="E1", team_id="T1"),
        b.async_find_installation(enterprise_id="E1", team_id="T1"),
        a.async_find_team_bot("T1"),  # a daily post's lookup
    )
    [call] = refreshes(slack)
    assert [f.bot_token if f else None for f in found] == [issued(call)[0]] * 4


async def test_a_failed_refresh_logs_one_line_and_returns_the_stored_token(
    store: SqlInstallationStore, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    store = SqlInstallationStore(store._engine, client_id=CLIENT_ID, rotator=rotator(slack))
    # The emulator never issued this refresh token: Slack refuses it (invalid_refresh_token).
    await store.async_save_bot(
        bot(bot_refresh_token="xoxe-1-bot-old", bot_token_expires_at=expiring_in(-1))
    )
    caplog.set_level(logging.DEBUG, logger="bot.storage")
    found = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert found is not None
    assert found.bot_token == f"xoxb-T1-{T1:%d}"
    assert [c.error for c in refreshes(slack)] == ["invalid_refresh_token"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == ["bot token refresh failed for team T1: invalid_refresh_token"]
    assert not [r for r in caplog.records if "xox" in r.getMessage()]


async def test_without_a_rotator_tokens_are_returned_as_stored(
    store: SqlInstallationStore,
) -> None:
    await store.async_save_bot(bot(bot_refresh_token="r", bot_token_expires_at=expiring_in(-1)))
    found = await store.async_find_bot(enterprise_id=None, team_id="T1")
    assert found is not None
    assert found.bot_token == f"xoxb-T1-{T1:%d}"


# -- the migration ----------------------------------------------------------------------------


async def test_the_migration_downgrades_and_upgrades_again(db_url: str) -> None:
    def downgrade(conn: sa.Connection) -> set[str]:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = conn
        command.downgrade(config, "0003")
        return set(sa.inspect(conn).get_table_names())

    await migrate(db_url)
    engine = build_engine(normalise_url(db_url))
    try:
        async with engine.begin() as conn:
            tables = await conn.run_sync(downgrade)
        assert "subscriptions" in tables
        assert not {t for t in tables if t.startswith("slack_")}
        await migrate(db_url)
        store = SqlInstallationStore(engine, client_id=CLIENT_ID)
        await store.async_save(installation())
        assert await store.async_find_bot(enterprise_id="E1", team_id="T1") is not None
    finally:
        await engine.dispose()


@pytest.mark.postgres
async def test_a_process_that_cannot_get_the_lock_in_time_uses_the_stored_token(
    postgres_url: str, slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL bounds each statement (query_timeout), the lock wait included."""
    await migrate(postgres_url)
    url = normalise_url(postgres_url)
    patient, hasty = build_engine(url), build_engine(url, query_timeout=0.2)
    slack.accept_refresh_token("r")
    gate = slack.hold_next("oauth.v2.access")
    try:
        a, b = (
            SqlInstallationStore(engine, client_id=CLIENT_ID, rotator=rotator(slack))
            for engine in (patient, hasty)
        )
        await a.async_save_bot(bot(bot_refresh_token="r", bot_token_expires_at=expiring_in(10)))
        refreshing = asyncio.create_task(a.async_find_bot(enterprise_id=None, team_id="T1"))
        # a holds the lock from before its refresh until after
        await slack.wait_until(lambda: slack.held["oauth.v2.access"] == 1, "a's refresh")
        found = await b.async_find_bot(enterprise_id=None, team_id="T1")
        assert found is not None
        assert found.bot_token == f"xoxb-T1-{T1:%d}"
        gate.set()
        fresh = await refreshing
        assert fresh is not None
        [call] = refreshes(slack)
        assert fresh.bot_token == issued(call)[0]
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1
        assert warnings[0].startswith("token refresh skipped: storage did not answer in time")
    finally:
        await patient.dispose()
        await hasty.dispose()
