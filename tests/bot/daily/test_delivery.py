"""Delivering a fan-out the way platforms need it, and stopping or dying in the middle of one.

Each test here was seen to fail against a deliberately broken scheduler (one that never waits
out a rate limit, one with unbounded concurrency, one that retries forever, one that blocks
the event loop, one that leaves claims behind at a stop, one that waits out leases), and to
pass against the real one. Time is the hand-moved `Clock` for the database; the only real
waits are a platform's `retry_after`, checked from the timestamps the poster records.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from dataclasses import replace

import pytest

from bot.bootstrap import build_service
from bot.chat import Origin, utc_now
from bot.config import Settings
from bot.storage import Storage
from maxims.reply import MaximReply
from maxims.weekdays import EVERY_DAY
from tests.bot.daily.test_scheduler import (
    WITH_DAYS,
    berlin,
    chosen_on,
    make_scheduler,
    mixed_days,
    sub,
)
from tests.fakes.recording_poster import RecordingPoster
from tests.helpers import Clock, age_beat, recent_post_time

DAY = dt.date(2026, 11, 28)
NINE = (dt.time(9), "Europe/Berlin")


@pytest.fixture
async def storage(db_url):
    store = await Storage.open(db_url)
    yield store
    await store.close()


async def subscribe(storage: Storage, n: int, *, mixed: bool = False) -> list[str]:
    """`n` channels at 09:00 Berlin; the ones posting on `DAY` (with `mixed`, two in three)."""
    subs = [sub(f"c{i:02d}", days=mixed_days(i) if mixed else EVERY_DAY) for i in range(n)]
    for each in subs:
        await storage.save_subscription(each)
    return chosen_on(DAY, subs)


MIXED = pytest.mark.parametrize("mixed", [False, True], ids=["every-day", "mixed-days"])


async def until(predicate, timeout: float = 30) -> None:
    """Poll `predicate` (a hang fails the test after `timeout` s; not a timing assertion)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def admin() -> bool:
    return True


# -- what platforms ask of a fan-out -----------------------------------------------------------


async def test_a_rate_limit_pauses_the_platform_for_at_least_retry_after(storage):
    channels = await subscribe(storage, 40)
    poster = RecordingPoster(rate_limit_every=4, retry_after=0.05, delay=0.001)
    scheduler = make_scheduler(storage, poster, Clock(berlin(2026, 11, 28, 9, 0)))
    await scheduler.run_slot(*NINE)
    assert Counter(poster.channels()) == Counter(channels)
    assert poster.limits >= 5
    assert poster.too_early == []  # no call came before the platform's retry_after had passed


async def test_posts_in_flight_never_exceed_max_concurrent_posts(storage):
    channels = await subscribe(storage, 40)
    poster = RecordingPoster(gate=asyncio.Event())  # the platform holds every post
    # All 40 channels are in one workspace: its own bound must not be what holds them back.
    scheduler = make_scheduler(
        storage,
        poster,
        Clock(berlin(2026, 11, 28, 9, 0)),
        max_concurrent_posts=5,
        max_concurrent_per_workspace=40,
    )
    fan_out = asyncio.ensure_future(scheduler.run_slot(*NINE))
    await until(lambda: poster.in_flight >= 5)
    await asyncio.sleep(0.5)  # room for a sixth, had the bound not held
    poster.gate.set()
    await fan_out
    assert Counter(poster.channels()) == Counter(channels)
    assert poster.max_in_flight == 5  # the bound is used, and never exceeded


async def test_a_post_is_abandoned_after_retry_limit_attempts(storage):
    await storage.save_subscription(sub("flaky"))
    poster = RecordingPoster(failing={"flaky": 1000})
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    scheduler = make_scheduler(storage, poster, clock, retry_limit=3, catch_up_minutes=120)
    await scheduler.run_slot(*NINE)
    for _ in range(24):  # the whole catch-up window, a sweep every five minutes
        clock.advance(minutes=5)
        await scheduler.sweep()
    assert poster.attempts == {"flaky": 3}
    record = await storage.get_post("console", "flaky", DAY)
    assert (record.state, record.attempts, record.next_attempt_at) == ("abandoned", 3, None)


@pytest.mark.slow  # two 2 s pauses
async def test_slash_commands_are_answered_while_a_rate_limit_pauses_the_fan_out(storage):
    channels = await subscribe(storage, 10)  # a pause after every 5: two pauses
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    poster = RecordingPoster(rate_limit_every=5, retry_after=2.0)
    scheduler = make_scheduler(storage, poster, clock)
    service = build_service(Settings(), storage, clock=clock, on_schedule_change=scheduler.reload)
    fan_out = asyncio.ensure_future(scheduler.run_slot(*NINE))
    await until(lambda: poster.limits >= 1)  # the platform said "wait 2 s"
    paused_until = poster.limited_until

    reply = await service.command(Origin("console", "c01", "U1"), "42", admin)
    shown = await service.command(Origin("console", "c01", "U1"), "daily", admin)
    answered_at = poster.clock()

    assert isinstance(reply, MaximReply)
    assert [m.number for m in reply.maxims] == [42]
    assert "09:00" in shown.text
    assert answered_at < paused_until  # answered inside the pause, not after it
    assert not fan_out.done()
    await fan_out
    assert Counter(poster.channels()) == Counter(channels)
    assert poster.too_early == []


async def test_a_failing_channel_is_shown_logged_once_and_cleared_by_setting_it_again(
    storage, caplog
):
    await storage.save_subscription(sub("gone"))
    poster = RecordingPoster(gone={"gone"})
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    scheduler = make_scheduler(storage, poster, clock)
    service = build_service(Settings(), storage, clock=clock, on_schedule_change=scheduler.reload)
    here = Origin("console", "gone", "U1")
    with caplog.at_level(logging.WARNING, logger="bot.daily"):
        await scheduler.run_slot(*NINE)
        for _ in range(6):
            clock.advance(minutes=10)
            await scheduler.sweep()
            await scheduler.run_slot(*NINE)
    shown = await service.command(here, "daily", admin)
    assert "posting is failing (channel_not_found)" in shown.text
    failures = [r for r in caplog.records if "gone" in r.getMessage()]
    assert len(failures) == 1, [r.getMessage() for r in failures]
    assert poster.attempts == {"gone": 1}

    await service.command(here, "daily 09:00 Europe/Berlin", admin)  # the bot was let back in
    assert (await storage.get_subscription("console", "gone")).failing is None
    assert "failing" not in (await service.command(here, "daily", admin)).text
    poster.gone.clear()
    clock.advance(days=1)
    await scheduler.run_slot(*NINE)
    assert poster.channels() == ["gone"]  # the next day's post goes out again


# -- stopping in the middle of a fan-out -------------------------------------------------------


@MIXED
async def test_a_stop_lets_sent_posts_finish_and_gives_back_every_other_claim(
    storage, caplog, mixed
):
    channels = await subscribe(storage, 30, mixed=mixed)
    clock = Clock(berlin(2026, 11, 28, 9, 1))
    poster = RecordingPoster(gate=asyncio.Event())
    first = make_scheduler(storage, poster, clock, max_concurrent_posts=4)
    await first.start()  # the catch-up sweep starts the fan-out
    await until(lambda: poster.in_flight == 4)  # four posts on their way to the platform
    stopping = asyncio.ensure_future(first.stop())
    await asyncio.sleep(0)
    poster.gate.set()  # the platform answers them, within the grace
    await stopping

    assert len(poster.sent) == 4  # what was sent finished; nothing new was started
    records = await storage.list_posts("console")
    assert [r.state for r in records] == ["posted"] * 4  # and no claim is left behind
    assert not [r for r in caplog.records if r.exc_info or "raised" in r.getMessage()]

    second = make_scheduler(storage, poster, clock)  # the restart
    await second.sweep()
    assert Counter(poster.channels()) == Counter(channels)  # every channel exactly once
    records = await storage.list_posts("console")
    assert {p.state for p in records} == {"posted"}
    assert len(records) == len(channels)  # nothing claimed for a channel whose day is off


@MIXED
async def test_a_post_slower_than_the_grace_is_cut_off_and_looked_for_after_the_restart(
    storage, mixed
):
    channels = await subscribe(storage, 6, mixed=mixed)
    clock = Clock(berlin(2026, 11, 28, 9, 1))
    stuck = RecordingPoster(gate=asyncio.Event())  # the platform never answers
    first = make_scheduler(storage, stuck, clock, max_concurrent_posts=2, stop_grace_seconds=0.1)
    await first.start()
    await until(lambda: stuck.in_flight == 2)
    await asyncio.wait_for(first.stop(), 30)
    records = await storage.list_posts("console")
    # Claims are taken only by posts with a ready place: the two under way were cut off and
    # given back with their attempt counted (they may have arrived), the two ready behind
    # them given back unattempted, the rest never claimed.
    assert (
        sorted((r.state, r.attempts) for r in records) == [("failed", 0)] * 2 + [("failed", 1)] * 2
    )

    poster = RecordingPoster()
    second = make_scheduler(storage, poster, clock)
    await second.sweep()
    assert Counter(poster.channels()) == Counter(channels)
    assert len(await storage.list_posts("console")) == len(channels)


async def test_a_stop_during_a_rate_limit_pause_does_not_wait_for_it(storage):
    await subscribe(storage, 10)
    clock = Clock(berlin(2026, 11, 28, 9, 1))
    poster = RecordingPoster(rate_limit_every=1, retry_after=600)  # "come back in ten minutes"
    scheduler = make_scheduler(
        storage, poster, clock, stop_grace_seconds=120, claim_timeout_seconds=3600
    )
    await scheduler.start()
    await until(lambda: poster.limits >= 1)
    await asyncio.wait_for(scheduler.stop(), 30)  # neither 600 s nor the 120 s grace
    records = await storage.list_posts("console")
    assert {(r.state, r.attempts) for r in records} == {("failed", 0)}


# -- a process that dies, and one that is only slow --------------------------------------------


@WITH_DAYS
async def test_a_dead_processes_claim_is_taken_over_within_a_minute(storage, days):
    general = sub("general", days=days)
    await storage.save_subscription(general)
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    hung = RecordingPoster(gate=asyncio.Event())
    dead = make_scheduler(storage, hung, clock, claim_timeout_seconds=300)
    await dead.heartbeat()
    dying = asyncio.ensure_future(dead.deliver(general, DAY))
    await until(lambda: hung.in_flight == 1)  # claimed and on its way, then the process dies
    died = clock.now

    poster = RecordingPoster()
    survivor = make_scheduler(storage, poster, clock, claim_timeout_seconds=300)
    while not poster.sent and clock.now < died + dt.timedelta(minutes=5):
        clock.advance(seconds=survivor.config.heartbeat_seconds)
        await age_beat(storage, dead.owner, seconds=survivor.config.heartbeat_seconds)
        await survivor.heartbeat()  # noticing a death sweeps at once
        await survivor.background.drain(timeout=30)
    assert poster.channels() == ["general"]
    record = await storage.get_post("console", "general", DAY)
    assert record.posted_at - died <= dt.timedelta(seconds=60)  # not the 300 s lease
    dying.cancel()


@pytest.mark.parametrize("today_only", [False, True], ids=["every-day", "today's-weekday"])
async def test_a_replica_whose_clock_runs_15_s_ahead_never_robs_a_live_peer(storage, today_only):
    """Three beats ahead by its own clock, the peer still beats by the database's (2.6).

    Real time here (the database's clock cannot be moved by hand): the peer's clock is the
    true one, the replica's runs `dead_after` ahead.
    """
    at, zone, day = recent_post_time(minutes_ago=1)
    days = 1 << day.weekday() if today_only else EVERY_DAY  # the real local day, chosen alone
    general = replace(sub("general", days=days), time=at, timezone=zone)
    await storage.save_subscription(general)
    slow = RecordingPoster(gate=asyncio.Event())
    peer = make_scheduler(storage, slow, utc_now, claim_timeout_seconds=300)
    await peer.heartbeat()
    posting = asyncio.ensure_future(peer.deliver(general, day))
    await until(lambda: slow.in_flight == 1)

    await age_beat(storage, peer.owner, seconds=2)  # it beats every 5 s: the last 2 s ago
    other = RecordingPoster()
    ahead = make_scheduler(storage, other, lambda: utc_now() + peer.dead_after)
    await ahead.heartbeat()  # a process clock would find the peer dead here, and sweep
    await ahead.sweep()
    await ahead.background.drain(timeout=30)
    assert other.sent == []
    slow.gate.set()
    assert await posting
    record = await storage.get_post("console", "general", day)
    assert (record.state, record.owner, record.attempts) == ("posted", peer.owner, 1)


async def test_a_slow_but_beating_owner_is_never_robbed(storage):
    await storage.save_subscription(sub("general"))
    clock = Clock(berlin(2026, 11, 28, 9, 0))
    slow = RecordingPoster(gate=asyncio.Event())
    owner = make_scheduler(storage, slow, clock, claim_timeout_seconds=300)
    await owner.heartbeat()
    posting = asyncio.ensure_future(owner.deliver(sub("general"), DAY))
    await until(lambda: slow.in_flight == 1)

    other = RecordingPoster()
    rival = make_scheduler(storage, other, clock, claim_timeout_seconds=300)
    for _ in range(12 * 15):  # fifteen minutes, three leases, sweeping at every beat
        clock.advance(seconds=5)
        await owner.heartbeat()
        await rival.heartbeat()
        await rival.sweep()
    assert other.sent == []
    slow.gate.set()
    assert await posting
    record = await storage.get_post("console", "general", DAY)
    assert (record.state, record.owner, record.attempts) == ("posted", owner.owner, 1)
