"""The schema and opening storage: migrations, simultaneous starts, SQLite file setup.

Tests taking `db_url` run on SQLite and on a real PostgreSQL (see tests/conftest.py). The
migrations run through Alembic's documented API (``bot/storage/migrations/env.py``); these
tests pin what that must keep doing: upgrading an old schema keeps the data, several
processes may open a fresh database at the same moment, and the tables the repository
queries are exactly the ones the migrations create.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sys
from pathlib import Path
from subprocess import PIPE

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage import PostRecord, Storage, migrate
from bot.storage.tables import VERSION_TABLE, UTCDateTime, metadata
from tests.helpers import ROOT, python_env, race, subscription

T0 = dt.datetime(2024, 3, 1, 7, 0, tzinfo=dt.UTC)
DAY = dt.date(2024, 3, 1)
HEAD = "0011"


@pytest.fixture
async def storage(db_url: str):
    s = await Storage.open(db_url)
    yield s
    await s.close()


def upgrades(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The "schema upgraded" lines logged so far."""
    return [r.getMessage() for r in caplog.records if "schema upgraded" in r.getMessage()]


async def _schema_revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            version = sa.table(VERSION_TABLE, sa.column("version_num"))
            return await conn.scalar(sa.select(version.c.version_num))
    finally:
        await engine.dispose()


async def test_upgrade_from_first_revision_keeps_data(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.storage")
    await migrate(db_url, "0001")
    assert await _schema_revision(db_url) == "0001"
    assert upgrades(caplog) == ["database schema upgraded from nothing to 0001"]
    engine = create_async_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO subscriptions"
                    " (platform, channel, workspace, post_time, timezone, set_by, set_at)"
                    " VALUES ('slack', 'C1', 'T1', :time, 'Europe/Paris', 'U1', :set_at)"
                ).bindparams(
                    sa.bindparam("time", type_=sa.Time()),
                    sa.bindparam("set_at", type_=UTCDateTime()),
                ),
                {"time": dt.time(9, 30), "set_at": T0},
            )
            await conn.execute(
                sa.text(
                    "INSERT INTO daily_posts (platform, channel, local_date, maxim_number, state,"
                    " owner, attempts, message_id, claimed_at, lease_until, posted_at)"
                    " VALUES ('slack', 'C1', :day, 12, 'posted', 'a', 1, 'm1', :t, :t, :t)"
                ).bindparams(
                    sa.bindparam("day", type_=sa.Date()),
                    sa.bindparam("t", type_=UTCDateTime()),
                ),
                {"day": DAY, "t": T0},
            )
            await conn.execute(sa.text("INSERT INTO meta (key, value) VALUES ('k', 'v')"))
    finally:
        await engine.dispose()

    async with await Storage.open(db_url) as s:
        assert await _schema_revision(db_url) == HEAD
        assert await s.get_subscription("slack", "C1") == subscription(
            "C1",
            time=dt.time(9, 30),
            timezone="Europe/Paris",
            set_at=T0,
            source="command",  # every subscription before 0002 was set in chat
            failing=None,
            style="text",  # and every one before 0005 posted text
            days=127,  # and every one before 0007 posted every day
            thread=False,  # and every one before 0008 opened no thread
            enterprise="",  # and every one before 0009 was set outside a Grid org
        )
        assert await s.get_post("slack", "C1", DAY) == PostRecord(
            platform="slack",
            channel="C1",
            local_date=DAY,
            maxim_number=12,
            state="posted",
            owner="a",
            attempts=1,
            message_id="m1",
            error=None,
            claimed_at=T0,
            lease_until=T0,
            next_attempt_at=None,
            posted_at=T0,
        )
        assert await s.get_meta("k") == "v"
        assert await s.first_delivery("slack", "e", now=T0)  # tables of 0002 exist
    assert upgrades(caplog)[1:] == [f"database schema upgraded from 0001 to {HEAD}"]


async def test_open_twice_concurrently_on_a_fresh_database(
    db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.storage")
    instances = await race(*(Storage.open(db_url) for _ in range(4)))
    try:
        await instances[0].set_meta("k", "v")
        assert [await s.get_meta("k") for s in instances] == ["v"] * 4
        assert await _schema_revision(db_url) == HEAD
        # one of them created the schema; the others found it at head
        assert upgrades(caplog) == [f"database schema upgraded from nothing to {HEAD}"]
    finally:
        for s in instances:
            await s.close()
    caplog.clear()
    async with await Storage.open(db_url) as again:  # reopening an up-to-date schema is a no-op
        assert await again.get_meta("k") == "v"
    assert upgrades(caplog) == []


OPEN_CHILDREN = 2  # each child costs ~1.5 s of CPU (importing SQLAlchemy and Alembic)

# Each child imports everything, says "ready", then opens at our "go": real simultaneous starts.
_OPEN_IN_CHILD = """
import asyncio, sys
from bot.storage import Storage
async def main() -> None:
    print("ready", flush=True)
    sys.stdin.readline()
    storage = await Storage.open(sys.argv[1])
    await storage.set_meta("process-" + sys.argv[2], "ok")
    await storage.close()
asyncio.run(main())
"""


@pytest.mark.child_process
async def test_open_from_several_processes_at_once(db_url: str) -> None:
    """The cross-process guarantee: advisory lock (PostgreSQL) / BEGIN IMMEDIATE (SQLite)."""
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _OPEN_IN_CHILD,
            db_url,
            str(i),
            stdin=PIPE,
            stdout=PIPE,
            stderr=PIPE,
            cwd=ROOT,
            env=python_env(),
        )
        for i in range(OPEN_CHILDREN)
    ]

    try:
        pipes = [(child.stdin, child.stdout) for child in children]
        lines = await race(*(stdout.readline() for _, stdout in pipes if stdout))
        assert lines == [b"ready\n"] * OPEN_CHILDREN
        for stdin, _ in pipes:  # all imported and waiting: release them together
            assert stdin is not None
            stdin.write(b"go\n")
        outputs = await race(*(child.communicate() for child in children))
    finally:
        for child in children:
            if child.returncode is None:
                child.kill()
                await child.wait()
    results = [(child.returncode, err) for child, (_, err) in zip(children, outputs, strict=True)]
    assert [(code, err.decode()[-2000:]) for code, err in results] == [(0, "")] * OPEN_CHILDREN
    async with await Storage.open(db_url) as s:
        assert [await s.get_meta(f"process-{i}") for i in range(OPEN_CHILDREN)] == [
            "ok"
        ] * OPEN_CHILDREN


async def test_open_different_databases_concurrently(db_url: str, tmp_path: Path) -> None:
    """Alembic's proxies are process-global: concurrent upgrades must not cross wires."""
    urls = [db_url, *(f"sqlite:///{tmp_path / f'other{i}.db'}" for i in range(3))]
    instances = await race(*(Storage.open(url) for url in urls))
    try:
        for i, s in enumerate(instances):
            await s.set_meta("i", str(i))
        assert [await s.get_meta("i") for s in instances] == ["0", "1", "2", "3"]
    finally:
        for s in instances:
            await s.close()


async def test_tables_match_the_migrations(storage: Storage, db_url: str) -> None:
    def diff(conn: sa.Connection) -> list[object]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return [
            d
            for d in compare_metadata(context, metadata)
            if not (d[0] == "remove_table" and d[1].name == VERSION_TABLE)
        ]

    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_sqlite_file_setup(tmp_path: Path) -> None:
    """SQLite only: parent directories are created, the journal is WAL."""
    path = tmp_path / "nested" / "dir" / "maxim.db"
    async with await Storage.open(f"sqlite:///{path}") as s:
        await s.set_meta("k", "v")
    assert path.exists()
    engine = create_async_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(sa.text("PRAGMA journal_mode")) == "wal"
    finally:
        await engine.dispose()


async def test_unsupported_url_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database backend 'mysql'"):
        await Storage.open("mysql+aiomysql://u@h/db")


def test_the_migrations_refuse_to_run_without_our_connection() -> None:
    """``alembic upgrade`` from a shell would have no connection: it gets a clear error."""
    from alembic import command
    from alembic.config import Config

    from bot.storage.schema import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with pytest.raises(RuntimeError, match=r"bot\.storage\.migrate\(url, revision\)"):
        command.upgrade(config, "head")
