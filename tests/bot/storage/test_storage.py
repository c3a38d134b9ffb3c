"""bot.storage on SQLite and on a real PostgreSQL server (see tests/conftest.py).

Every test runs on both backends through the `db_url` fixture (params "sqlite" and
"postgresql"), a fresh empty database; `storage` is a `Storage` opened on it. Several
`Storage` instances on one URL are several connection pools, which is what several bot
processes look like to the database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from pathlib import Path
from subprocess import PIPE
from typing import Any, TypeVar

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage import PostRecord, Storage, Subscription, migrate
from bot.storage import repository as storage_module

UTC = dt.UTC
T = TypeVar("T")
T0 = dt.datetime(2024, 3, 1, 7, 0, tzinfo=UTC)
DAY = dt.date(2024, 3, 1)
LEASE = dt.timedelta(minutes=5)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of each backend."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    s = await Storage.open(db_url)
    yield s
    await s.close()


OpenMany = Callable[[int], Awaitable[list[Storage]]]


@pytest.fixture
async def open_many(db_url: str) -> AsyncIterator[OpenMany]:
    """Open n more `Storage` instances (connection pools) on the same database."""
    async with AsyncExitStack() as stack:

        async def open_n(n: int) -> list[Storage]:
            instances = [await Storage.open(db_url) for _ in range(n)]
            for s in instances:
                stack.push_async_callback(s.close)
            return instances

        yield open_n


async def race(*aws: Coroutine[Any, Any, T]) -> list[T]:
    """Run `aws` concurrently; a deadlock fails the test instead of hanging it."""
    return list(await asyncio.wait_for(asyncio.gather(*aws), timeout=30))


def sub(channel: str = "C1", **changes: object) -> Subscription:
    base = Subscription(
        platform="slack",
        workspace="T1",
        channel=channel,
        time=dt.time(9, 30),
        timezone="Europe/Paris",
        set_by="U1",
        set_at=T0,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def claim(
    s: Storage, owner: str, now: dt.datetime = T0, *, channel: str = "C1", maxim: int = 7
) -> PostRecord | None:
    return await s.claim_post("slack", channel, DAY, maxim, owner=owner, now=now, lease=LEASE)


# ----------------------------------------------------------------------------------------------
# Subscriptions


async def test_subscription_upsert_get_list_delete(storage: Storage) -> None:
    assert await storage.get_subscription("slack", "C1") is None
    await storage.save_subscription(sub())
    assert await storage.get_subscription("slack", "C1") == sub()

    changed = sub(time=dt.time(18, 5), timezone="Asia/Tokyo", set_by="U2", set_at=T0 + LEASE)
    await storage.save_subscription(changed)
    assert await storage.get_subscription("slack", "C1") == changed

    await storage.save_subscription(sub("C0"))
    await storage.save_subscription(
        Subscription("discord", "G1", "123", dt.time(8, 0), "UTC", "42", T0)
    )
    await storage.save_subscription(
        Subscription("console", "", "stdout", dt.time(7), "UTC", "", T0)
    )
    assert [(s.platform, s.channel) for s in await storage.list_subscriptions()] == [
        ("console", "stdout"),
        ("discord", "123"),
        ("slack", "C0"),
        ("slack", "C1"),
    ]
    assert [s.channel for s in await storage.list_subscriptions("slack")] == ["C0", "C1"]
    assert await storage.list_subscriptions("teams") == []

    assert await storage.delete_subscription("slack", "C1") is True
    assert await storage.delete_subscription("slack", "C1") is False
    assert await storage.get_subscription("slack", "C1") is None
    assert [s.channel for s in await storage.list_subscriptions("slack")] == ["C0"]


async def test_datetimes_come_back_aware_utc_and_naive_ones_are_refused(storage: Storage) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    await storage.save_subscription(sub(set_at=dt.datetime(2024, 3, 1, 8, 0, tzinfo=paris)))
    got = await storage.get_subscription("slack", "C1")
    assert got is not None
    assert got.set_at == T0
    assert got.set_at.tzinfo == UTC

    with pytest.raises(ValueError, match="naive"):
        await storage.save_subscription(sub(set_at=dt.datetime(2024, 3, 1, 7, 0)))
    with pytest.raises(ValueError, match="naive"):
        await storage.claim_post(
            "slack", "C1", DAY, 1, owner="a", now=dt.datetime(2024, 3, 1), lease=LEASE
        )


async def test_mark_subscription_failing(storage: Storage) -> None:
    await storage.save_subscription(sub())
    await storage.mark_subscription_failing("slack", "C1", "channel_not_found")
    got = await storage.get_subscription("slack", "C1")
    assert got is not None
    assert got.failing == "channel_not_found"
    await storage.mark_subscription_failing("slack", "C1", None)
    got = await storage.get_subscription("slack", "C1")
    assert got is not None
    assert got.failing is None
    # unknown channel: nothing to mark, no error
    await storage.mark_subscription_failing("slack", "nope", "gone")
    assert await storage.get_subscription("slack", "nope") is None


async def test_sync_config_subscriptions(storage: Storage) -> None:
    def cfg(channel: str, **changes: object) -> Subscription:
        return sub(channel, source="config", set_by="config", **changes)

    # a chat subscription on C1 exists before the config mentions C1
    await storage.save_subscription(sub("C1", set_by="U9"))
    await storage.sync_config_subscriptions([cfg("C1"), cfg("C2"), cfg("C3")])
    rows = {s.channel: s for s in await storage.list_subscriptions()}
    assert rows["C1"] == sub("C1", set_by="U9")  # config does not override chat
    assert rows["C2"] == cfg("C2")
    assert rows["C3"] == cfg("C3")

    # unchanged entries keep their row (set_at, failing); changed ones are replaced; gone
    # entries are deleted; the chat row stays even though config no longer names C1
    await storage.mark_subscription_failing("slack", "C2", "channel_not_found")
    later = T0 + dt.timedelta(days=1)
    await storage.sync_config_subscriptions(
        [cfg("C2", set_at=later), cfg("C4", set_at=later, time=dt.time(10, 0))]
    )
    rows = {s.channel: s for s in await storage.list_subscriptions()}
    assert set(rows) == {"C1", "C2", "C4"}
    assert rows["C1"].source == "command"
    assert rows["C2"] == cfg("C2", failing="channel_not_found")
    assert rows["C4"] == cfg("C4", set_at=later, time=dt.time(10, 0))

    await storage.sync_config_subscriptions([cfg("C2", time=dt.time(11, 0), set_at=later)])
    rows = {s.channel: s for s in await storage.list_subscriptions()}
    assert set(rows) == {"C1", "C2"}
    assert rows["C2"] == cfg("C2", time=dt.time(11, 0), set_at=later)  # failing reset

    # a chat command on a config channel takes it over, and later syncs leave it alone
    await storage.save_subscription(sub("C2", set_by="U7"))
    await storage.sync_config_subscriptions([])
    rows = {s.channel: s for s in await storage.list_subscriptions()}
    assert rows == {"C1": sub("C1", set_by="U9"), "C2": sub("C2", set_by="U7")}

    # elements are stored as config rows whatever their own source says
    await storage.sync_config_subscriptions([sub("C5")])
    got = await storage.get_subscription("slack", "C5")
    assert got is not None
    assert got.source == "config"

    with pytest.raises(ValueError, match="two config subscriptions"):
        await storage.sync_config_subscriptions([cfg("C6"), cfg("C6", time=dt.time(1, 0))])


async def test_sync_config_subscriptions_concurrently(
    storage: Storage, open_many: OpenMany
) -> None:
    others = await open_many(3)
    entries = [sub(f"C{i}", source="config", set_by="config") for i in range(5)]
    await race(*(s.sync_config_subscriptions(entries) for s in [storage, *others]))
    assert await storage.list_subscriptions() == entries


# ----------------------------------------------------------------------------------------------
# Daily posts


async def test_first_claim_then_complete(storage: Storage) -> None:
    record = await claim(storage, "a")
    assert record == PostRecord(
        platform="slack",
        channel="C1",
        local_date=DAY,
        maxim_number=7,
        state="claimed",
        owner="a",
        attempts=1,
        message_id=None,
        error=None,
        claimed_at=T0,
        lease_until=T0 + LEASE,
        next_attempt_at=None,
        posted_at=None,
    )
    assert await storage.get_post("slack", "C1", DAY) == record
    assert await claim(storage, "b") is None  # lease still valid
    assert await claim(storage, "a") is None  # even for the owner itself

    done_at = T0 + dt.timedelta(seconds=3)
    assert await storage.complete_post(
        "slack", "C1", DAY, owner="a", message_id="1700.01", now=done_at
    )
    got = await storage.get_post("slack", "C1", DAY)
    assert got is not None
    assert (got.state, got.message_id, got.posted_at, got.attempts) == (
        "posted",
        "1700.01",
        done_at,
        1,
    )
    assert await storage.get_post("slack", "C1", DAY + dt.timedelta(days=1)) is None


async def test_claim_race_has_a_single_winner(storage: Storage, open_many: OpenMany) -> None:
    instances = [storage, *await open_many(3)]
    results = await race(*(claim(instances[i % len(instances)], f"owner-{i}") for i in range(20)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    post = await storage.get_post("slack", "C1", DAY)
    assert post == winners[0]
    assert post.attempts == 1


async def test_takeover_after_lease_expiry(storage: Storage) -> None:
    assert await claim(storage, "crashed", maxim=7) is not None
    assert await claim(storage, "b", T0 + LEASE - dt.timedelta(seconds=1)) is None
    taken = await claim(storage, "b", T0 + LEASE, maxim=99)
    assert taken is not None
    assert (taken.owner, taken.state, taken.attempts) == ("b", "claimed", 2)
    assert taken.maxim_number == 7  # the stored maxim is kept, not the caller's
    assert (taken.claimed_at, taken.lease_until) == (T0 + LEASE, T0 + 2 * LEASE)

    # the old owner comes back: it no longer holds the claim
    late = T0 + LEASE + dt.timedelta(seconds=1)
    assert not await storage.complete_post(
        "slack", "C1", DAY, owner="crashed", message_id="x", now=late
    )
    assert not await storage.fail_post(
        "slack", "C1", DAY, owner="crashed", error="boom", now=late, retry_at=late
    )
    assert await storage.get_post("slack", "C1", DAY) == taken


async def test_takeover_race_has_a_single_winner(storage: Storage, open_many: OpenMany) -> None:
    assert await claim(storage, "crashed") is not None
    instances = [storage, *await open_many(3)]
    later = T0 + 2 * LEASE
    results = await race(
        *(claim(instances[i % len(instances)], f"owner-{i}", later) for i in range(20))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0].attempts == 2


async def test_posted_is_never_claimed_again(storage: Storage) -> None:
    assert await claim(storage, "a") is not None
    assert await storage.complete_post("slack", "C1", DAY, owner="a", message_id="m1", now=T0)
    for later in (T0 + LEASE, T0 + dt.timedelta(days=3)):
        assert await claim(storage, "b", later) is None
    # completing twice is refused (no longer claimed), and does not change the record
    assert not await storage.complete_post("slack", "C1", DAY, owner="a", message_id="m2", now=T0)
    post = await storage.get_post("slack", "C1", DAY)
    assert post is not None
    assert (post.state, post.message_id) == ("posted", "m1")


async def test_failed_is_retried_from_next_attempt_at(storage: Storage) -> None:
    assert await claim(storage, "a") is not None
    retry_at = T0 + dt.timedelta(minutes=1)
    assert await storage.fail_post(
        "slack", "C1", DAY, owner="a", error="rate limited", now=T0, retry_at=retry_at
    )
    failed = await storage.get_post("slack", "C1", DAY)
    assert failed is not None
    assert (failed.state, failed.error, failed.next_attempt_at) == (
        "failed",
        "rate limited",
        retry_at,
    )

    assert await claim(storage, "b", retry_at - dt.timedelta(seconds=1)) is None
    again = await claim(storage, "b", retry_at)
    assert again is not None
    assert (again.state, again.owner, again.attempts, again.next_attempt_at) == (
        "claimed",
        "b",
        2,
        None,
    )
    assert again.error == "rate limited"  # the last error stays visible until posted
    assert await storage.complete_post("slack", "C1", DAY, owner="b", message_id="m", now=retry_at)
    posted = await storage.get_post("slack", "C1", DAY)
    assert posted is not None
    assert (posted.state, posted.error) == ("posted", None)


async def test_abandoned_is_never_claimed_again(storage: Storage) -> None:
    assert await claim(storage, "a") is not None
    assert await storage.fail_post(
        "slack", "C1", DAY, owner="a", error="channel_not_found", now=T0, retry_at=None
    )
    post = await storage.get_post("slack", "C1", DAY)
    assert post is not None
    assert (post.state, post.error, post.next_attempt_at) == (
        "abandoned",
        "channel_not_found",
        None,
    )
    for later in (T0 + LEASE, T0 + dt.timedelta(days=3)):
        assert await claim(storage, "b", later) is None


async def test_complete_or_fail_by_non_owner_is_refused(storage: Storage) -> None:
    assert await claim(storage, "a") is not None
    assert not await storage.complete_post("slack", "C1", DAY, owner="b", message_id="m", now=T0)
    assert not await storage.fail_post(
        "slack", "C1", DAY, owner="b", error="x", now=T0, retry_at=None
    )
    assert not await storage.complete_post("slack", "nope", DAY, owner="a", message_id="m", now=T0)
    post = await storage.get_post("slack", "C1", DAY)
    assert post is not None
    assert (post.state, post.owner) == ("claimed", "a")


async def test_list_posts(storage: Storage) -> None:
    for platform, channel, day in [
        ("slack", "C2", DAY),
        ("discord", "9", DAY),
        ("slack", "C1", DAY + dt.timedelta(days=1)),
        ("slack", "C1", DAY),
    ]:
        assert (
            await storage.claim_post(platform, channel, day, 1, owner="a", now=T0, lease=LEASE)
            is not None
        )
    assert [(p.local_date.day, p.platform, p.channel) for p in await storage.list_posts()] == [
        (1, "discord", "9"),
        (1, "slack", "C1"),
        (1, "slack", "C2"),
        (2, "slack", "C1"),
    ]
    assert [p.platform for p in await storage.list_posts("discord")] == ["discord"]


# ----------------------------------------------------------------------------------------------
# Events, cooldowns, meta


async def test_first_delivery_once_under_concurrency(storage: Storage, open_many: OpenMany) -> None:
    instances = [storage, *await open_many(3)]
    results = await race(
        *(instances[i % 4].first_delivery("slack", "Ev1", now=T0) for i in range(20))
    )
    assert sorted(results) == [False] * 19 + [True]
    assert await storage.first_delivery("discord", "Ev1", now=T0)  # per platform
    assert not await storage.first_delivery("slack", "Ev1", now=T0 + dt.timedelta(hours=23))


async def test_first_delivery_prunes_old_event_ids(storage: Storage) -> None:
    assert await storage.first_delivery("slack", "old", now=T0)
    # more than a day later the id has been forgotten (pruned), so it counts as new
    assert await storage.first_delivery("slack", "new", now=T0 + dt.timedelta(days=1, hours=2))
    assert await storage.first_delivery("slack", "old", now=T0 + dt.timedelta(days=1, hours=2))


async def test_take_cooldown(storage: Storage) -> None:
    def take(now: dt.datetime, channel: str = "C1", rule: str = "nan") -> Awaitable[bool]:
        return storage.take_cooldown("slack", channel, rule, now=now, seconds=60)

    assert await take(T0)
    assert not await take(T0 + dt.timedelta(seconds=59))
    assert await take(T0, channel="C2")
    assert await take(T0, rule="other")
    assert await take(T0 + dt.timedelta(seconds=60))
    # a refused attempt does not restart the cooldown
    assert not await take(T0 + dt.timedelta(seconds=100))
    assert await take(T0 + dt.timedelta(seconds=120))
    assert await storage.take_cooldown("discord", "C1", "nan", now=T0, seconds=60)


async def test_take_cooldown_under_concurrency(storage: Storage, open_many: OpenMany) -> None:
    instances = [storage, *await open_many(3)]
    for now in (T0, T0 + dt.timedelta(minutes=5)):  # first insert, then the update path
        results = await race(
            *(
                instances[i % 4].take_cooldown("slack", "C1", "nan", now=now, seconds=60)
                for i in range(20)
            )
        )
        assert sorted(results) == [False] * 19 + [True]


async def test_meta(storage: Storage) -> None:
    assert await storage.get_meta("discord.command_tree") is None
    await storage.set_meta("discord.command_tree", "abc")
    await storage.set_meta("discord.command_tree", "def")
    await storage.set_meta("other", "")
    assert await storage.get_meta("discord.command_tree") == "def"
    assert await storage.get_meta("other") == ""


# ----------------------------------------------------------------------------------------------
# Schema and opening


async def _schema_revision(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            version = sa.table(storage_module.VERSION_TABLE, sa.column("version_num"))
            return await conn.scalar(sa.select(version.c.version_num))
    finally:
        await engine.dispose()


async def test_upgrade_from_first_revision_keeps_data(db_url: str) -> None:
    await migrate(db_url, "0001")
    assert await _schema_revision(db_url) == "0001"
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
                    sa.bindparam("set_at", type_=storage_module.UTCDateTime()),
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
                    sa.bindparam("t", type_=storage_module.UTCDateTime()),
                ),
                {"day": DAY, "t": T0},
            )
            await conn.execute(sa.text("INSERT INTO meta (key, value) VALUES ('k', 'v')"))
    finally:
        await engine.dispose()

    async with await Storage.open(db_url) as s:
        assert await _schema_revision(db_url) == "0002"
        assert await s.get_subscription("slack", "C1") == sub()  # source "command", healthy
        post = await s.get_post("slack", "C1", DAY)
        assert post is not None
        assert (post.maxim_number, post.state, post.message_id, post.posted_at) == (
            12,
            "posted",
            "m1",
            T0,
        )
        assert await s.get_meta("k") == "v"
        assert await s.first_delivery("slack", "e", now=T0)  # tables of 0002 exist


async def test_open_twice_concurrently_on_a_fresh_database(db_url: str) -> None:
    instances = await race(*(Storage.open(db_url) for _ in range(4)))
    try:
        await instances[0].set_meta("k", "v")
        assert [await s.get_meta("k") for s in instances] == ["v"] * 4
        assert await _schema_revision(db_url) == "0002"
    finally:
        for s in instances:
            await s.close()
    async with await Storage.open(db_url) as again:  # reopening an up-to-date schema is a no-op
        assert await again.get_meta("k") == "v"


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


async def test_open_from_several_processes_at_once(db_url: str) -> None:
    """The cross-process guarantee: advisory lock (PostgreSQL) / BEGIN IMMEDIATE (SQLite)."""
    root = Path(__file__).resolve().parents[3]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
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
            cwd=root,
            env=env,
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
            for d in compare_metadata(context, storage_module.metadata)
            if not (d[0] == "remove_table" and d[1].name == storage_module.VERSION_TABLE)
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
    with pytest.raises(ValueError, match="unsupported"):
        await Storage.open("mysql+aiomysql://u@h/db")


async def test_list_posts_since_a_date_leaves_out_older_days(storage: Storage) -> None:
    now = dt.datetime(2026, 11, 28, 9, tzinfo=dt.UTC)
    for day in (26, 27, 28):
        await storage.claim_post(
            "slack",
            "C1",
            dt.date(2026, 11, day),
            1,
            owner="a",
            now=now,
            lease=dt.timedelta(minutes=5),
        )
    recent = await storage.list_posts(since=dt.date(2026, 11, 27))
    assert [p.local_date.day for p in recent] == [27, 28]
