"""The `Storage` repository on SQLite and on a real PostgreSQL server (see tests/conftest.py).

Every test runs on both backends through the shared `db_url` fixture, a fresh empty database;
`storage` is a `Storage` opened on it. Several `Storage` instances on one URL are several
connection pools, which is what several bot processes look like to the database. The schema
and opening are in test_schema.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest

from bot.storage import PostRecord, Storage, Subscription
from tests.helpers import race, subscription

UTC = dt.UTC
T0 = dt.datetime(2024, 3, 1, 7, 0, tzinfo=UTC)
DAY = dt.date(2024, 3, 1)
LEASE = dt.timedelta(minutes=5)


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


def sub(channel: str = "C1", **changes: object) -> Subscription:
    return subscription(
        channel, **({"time": dt.time(9, 30), "timezone": "Europe/Paris", "set_at": T0} | changes)
    )


async def claim(
    s: Storage, owner: str, now: dt.datetime = T0, *, channel: str = "C1", maxim: int = 7
) -> PostRecord | None:
    return await s.claim_post("slack", channel, DAY, maxim, owner=owner, now=now, lease=LEASE)


def claimed(owner: str, now: dt.datetime = T0, *, maxim: int = 7, **changes: object) -> PostRecord:
    """The record of a claim on slack C1 for `DAY` taken by `owner` at `now`, with `changes`."""
    record = PostRecord(
        platform="slack",
        channel="C1",
        local_date=DAY,
        maxim_number=maxim,
        state="claimed",
        owner=owner,
        attempts=1,
        message_id=None,
        error=None,
        claimed_at=now,
        lease_until=now + LEASE,
        next_attempt_at=None,
        posted_at=None,
    )
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]


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
        subscription(
            "123", platform="discord", workspace="G1", time=dt.time(8), set_by="42", set_at=T0
        )
    )
    await storage.save_subscription(
        subscription(
            "stdout", platform="console", workspace="", time=dt.time(7), set_by="", set_at=T0
        )
    )
    assert [(s.platform, s.channel) for s in await storage.list_subscriptions()] == [
        ("console", "stdout"),
        ("discord", "123"),
        ("slack", "C0"),
        ("slack", "C1"),
    ]
    assert [s.channel for s in await storage.list_subscriptions("slack")] == ["C0", "C1"]
    assert await storage.list_subscriptions("teams") == []
    await storage.save_subscription(sub("C9", workspace="T9"))
    await storage.save_subscription(sub("C8", workspace=""))
    mine = await storage.list_subscriptions("slack", workspace="T1")  # and those naming none
    assert [(s.channel, s.workspace) for s in mine] == [("C0", "T1"), ("C1", "T1"), ("C8", "")]
    assert [s.channel for s in await storage.list_subscriptions("slack", workspace="")] == ["C8"]
    assert await storage.delete_subscription("slack", "C9") is True
    assert await storage.delete_subscription("slack", "C8") is True

    assert await storage.delete_subscription("slack", "C1") is True
    assert await storage.delete_subscription("slack", "C1") is False
    assert await storage.get_subscription("slack", "C1") is None
    assert [s.channel for s in await storage.list_subscriptions("slack")] == ["C0"]


async def test_datetimes_come_back_aware_utc_and_naive_ones_are_refused(storage: Storage) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    await storage.save_subscription(sub(set_at=dt.datetime(2024, 3, 1, 8, 0, tzinfo=paris)))
    got = await storage.get_subscription("slack", "C1")
    assert got == sub(set_at=T0)
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
    assert await storage.get_subscription("slack", "C1") == sub(failing="channel_not_found")
    await storage.mark_subscription_failing("slack", "C1", None)
    assert await storage.get_subscription("slack", "C1") == sub(failing=None)
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
    assert await storage.get_subscription("slack", "C5") == sub("C5", source="config")

    with pytest.raises(ValueError, match="two config subscriptions"):
        await storage.sync_config_subscriptions([cfg("C6"), cfg("C6", time=dt.time(1, 0))])


async def test_a_subscriptions_style_is_kept_and_a_config_change_of_style_is_applied(
    storage: Storage,
) -> None:
    await storage.save_subscription(sub("C1", style="card"))
    assert await storage.get_subscription("slack", "C1") == sub("C1", style="card")
    assert sub("C2").style == "text"  # the default

    def cfg(channel: str, **changes: object) -> Subscription:
        return sub(channel, source="config", set_by="config", **changes)

    await storage.sync_config_subscriptions([cfg("C2")])
    await storage.mark_subscription_failing("slack", "C2", "channel_not_found")
    later = T0 + dt.timedelta(days=1)
    await storage.sync_config_subscriptions([cfg("C2", style="card", set_at=later)])
    # only the style changed: the row is replaced whole, so it is healthy again
    assert await storage.get_subscription("slack", "C2") == cfg("C2", style="card", set_at=later)


async def test_a_subscriptions_thread_is_kept_and_a_config_change_of_thread_is_applied(
    storage: Storage,
) -> None:
    await storage.save_subscription(sub("C1", thread=True))
    assert await storage.get_subscription("slack", "C1") == sub("C1", thread=True)
    assert sub("C2").thread is False  # the default

    def cfg(channel: str, **changes: object) -> Subscription:
        return sub(channel, source="config", set_by="config", **changes)

    await storage.sync_config_subscriptions([cfg("C2")])
    later = T0 + dt.timedelta(days=1)
    await storage.sync_config_subscriptions([cfg("C2", thread=True, set_at=later)])
    assert await storage.get_subscription("slack", "C2") == cfg("C2", thread=True, set_at=later)


async def test_a_grid_orgs_subscriptions_go_but_in_workspaces_installed_on_their_own(
    storage: Storage,
) -> None:
    subs = [
        sub("C1", workspace="T1", enterprise="E1"),
        sub("C2", workspace="T2", enterprise="E1"),  # T2 has an installation of its own
        sub("C3", workspace="T3", enterprise="E1"),
        sub("C4", workspace="T4", enterprise="E2"),  # another org
        sub("C5", workspace="T5"),  # no org
        sub("D1", platform="discord", workspace="G1", enterprise="E1"),
    ]
    for each in subs:
        await storage.save_subscription(each)
    assert await storage.get_subscription("slack", "C1") == subs[0]  # the org is stored

    assert await storage.delete_enterprise_subscriptions("slack", "E1", keep={"T2"}) == 2
    left = await storage.list_subscriptions()
    assert [(s.platform, s.channel) for s in left] == [
        ("discord", "D1"),
        ("slack", "C2"),
        ("slack", "C4"),
        ("slack", "C5"),
    ]
    assert await storage.delete_enterprise_subscriptions("slack", "E1") == 1  # keep nothing
    assert await storage.delete_enterprise_subscriptions("slack", "E9") == 0


async def test_workspaces_taken_out_of_a_grid_org_lose_only_their_own_subscriptions(
    storage: Storage,
) -> None:
    subs = [
        sub("C1", workspace="T1", enterprise="E1"),  # taken out
        sub("C1b", workspace="T1", enterprise="E1"),  # taken out
        sub("C2", workspace="T2", enterprise="E1"),  # taken out, but installed on its own
        sub("C3", workspace="T3", enterprise="E1"),  # still in the org install
        sub("C4", workspace="T1", enterprise="E2"),  # the same id under another org
        sub("C5", workspace="T1"),  # no org
        sub("D1", platform="discord", workspace="T1", enterprise="E1"),
    ]
    for each in subs:
        await storage.save_subscription(each)
    before = await storage.subscriptions_changed()

    gone = await storage.delete_enterprise_subscriptions(
        "slack", "E1", keep={"T2"}, workspaces={"T1", "T2"}
    )

    assert gone == 2
    left = await storage.list_subscriptions()
    assert [(s.platform, s.channel) for s in left] == [
        ("discord", "D1"),
        ("slack", "C2"),
        ("slack", "C3"),
        ("slack", "C4"),
        ("slack", "C5"),
    ]
    assert await storage.subscriptions_changed() != before  # the scheduler drops its jobs
    unchanged = await storage.subscriptions_changed()
    assert await storage.delete_enterprise_subscriptions("slack", "E1", workspaces=()) == 0
    assert await storage.delete_enterprise_subscriptions("slack", "E1", workspaces={"T9"}) == 0
    assert await storage.subscriptions_changed() == unchanged  # nothing went: no change


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
    assert await storage.get_post("slack", "C1", DAY) == claimed(
        "a", state="posted", message_id="1700.01", posted_at=done_at
    )
    assert await storage.get_post("slack", "C1", DAY + dt.timedelta(days=1)) is None


async def test_claim_race_has_a_single_winner(storage: Storage, open_many: OpenMany) -> None:
    instances = [storage, *await open_many(3)]
    results = await race(*(claim(instances[i % len(instances)], f"owner-{i}") for i in range(20)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0] == claimed(winners[0].owner)
    assert await storage.get_post("slack", "C1", DAY) == winners[0]


async def test_takeover_after_lease_expiry(storage: Storage) -> None:
    assert await claim(storage, "crashed", maxim=7) == claimed("crashed")
    assert await claim(storage, "b", T0 + LEASE - dt.timedelta(seconds=1)) is None
    taken = await claim(storage, "b", T0 + LEASE, maxim=99)
    # the stored maxim (7) is kept, not the caller's (99)
    assert taken == claimed("b", T0 + LEASE, maxim=7, attempts=2)

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
    assert await claim(storage, "crashed") == claimed("crashed")
    instances = [storage, *await open_many(3)]
    later = T0 + 2 * LEASE
    results = await race(
        *(claim(instances[i % len(instances)], f"owner-{i}", later) for i in range(20))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert winners[0] == claimed(winners[0].owner, later, attempts=2)
    assert winners[0].owner.startswith("owner-")


async def test_posted_is_never_claimed_again(storage: Storage) -> None:
    assert await claim(storage, "a") == claimed("a")
    assert await storage.complete_post("slack", "C1", DAY, owner="a", message_id="m1", now=T0)
    for later in (T0 + LEASE, T0 + dt.timedelta(days=3)):
        assert await claim(storage, "b", later) is None
    # completing twice is refused (no longer claimed), and does not change the record
    assert not await storage.complete_post("slack", "C1", DAY, owner="a", message_id="m2", now=T0)
    assert await storage.get_post("slack", "C1", DAY) == claimed(
        "a", state="posted", message_id="m1", posted_at=T0
    )


async def test_failed_is_retried_from_next_attempt_at(storage: Storage) -> None:
    assert await claim(storage, "a") == claimed("a")
    retry_at = T0 + dt.timedelta(minutes=1)
    assert await storage.fail_post(
        "slack", "C1", DAY, owner="a", error="rate limited", now=T0, retry_at=retry_at
    )
    assert await storage.get_post("slack", "C1", DAY) == claimed(
        "a", state="failed", error="rate limited", next_attempt_at=retry_at, lease_until=T0
    )

    assert await claim(storage, "b", retry_at - dt.timedelta(seconds=1)) is None
    again = await claim(storage, "b", retry_at)
    # the last error stays visible until posted
    assert again == claimed("b", retry_at, attempts=2, error="rate limited")
    assert await storage.complete_post("slack", "C1", DAY, owner="b", message_id="m", now=retry_at)
    assert await storage.get_post("slack", "C1", DAY) == claimed(
        "b", retry_at, attempts=2, state="posted", message_id="m", posted_at=retry_at
    )


async def test_abandoned_is_never_claimed_again(storage: Storage) -> None:
    assert await claim(storage, "a") == claimed("a")
    assert await storage.fail_post(
        "slack", "C1", DAY, owner="a", error="channel_not_found", now=T0, retry_at=None
    )
    assert await storage.get_post("slack", "C1", DAY) == claimed(
        "a", state="abandoned", error="channel_not_found", lease_until=T0
    )
    for later in (T0 + LEASE, T0 + dt.timedelta(days=3)):
        assert await claim(storage, "b", later) is None


async def test_complete_or_fail_by_non_owner_is_refused(storage: Storage) -> None:
    assert await claim(storage, "a") == claimed("a")
    assert not await storage.complete_post("slack", "C1", DAY, owner="b", message_id="m", now=T0)
    assert not await storage.fail_post(
        "slack", "C1", DAY, owner="b", error="x", now=T0, retry_at=None
    )
    assert not await storage.complete_post("slack", "nope", DAY, owner="a", message_id="m", now=T0)
    assert await storage.get_post("slack", "C1", DAY) == claimed("a")


async def test_list_posts(storage: Storage) -> None:
    for platform, channel, day in [
        ("slack", "C2", DAY),
        ("discord", "9", DAY),
        ("slack", "C1", DAY + dt.timedelta(days=1)),
        ("slack", "C1", DAY),
    ]:
        record = await storage.claim_post(platform, channel, day, 1, owner="a", now=T0, lease=LEASE)
        assert record is not None
        assert (record.platform, record.channel, record.local_date) == (platform, channel, day)
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
