"""Limits where the platform keeps them: per workspace for Slack, per platform for the others.

Rate-limit waits pass in emulated time (`EmulatedTime`, the scheduler's `timer`): a 45 s limit
lifts when the test moves the clock, and each post records the emulated time it landed at, so
the tests assert on order and time, never on how long anything took. Storage is real SQLite
and PostgreSQL. Each test was seen to fail with pacing broken on purpose (see the report of
the branch that added it): a 429 keyed by platform, the process-wide slot taken before the
workspace's, a rate-limit wait that keeps its process-wide slot, no per-workspace bound; and
for the pipeline, the claim taken inside the place on the way (as it was), no bound on the
ready places, and the places held until the post is recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field, replace

import pytest

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.poster import PLATFORM_WIDE, PostLimits, RateLimited
from bot.storage import Storage
from maxims import Maxim, load_corpus
from tests.bot.daily.test_scheduler import berlin, sub
from tests.fakes.recording_poster import RecordingPoster
from tests.helpers import Clock, EmulatedTime

NINE = (dt.time(9), "Europe/Berlin")
SLACK_LIKE = PostLimits(per_workspace=True, channel_interval=1.0)
LIMIT = 45.0  # seconds the throttled workspace answers 429 for


@pytest.fixture
async def storage(db_url):
    store = await Storage.open(db_url)
    yield store
    await store.close()


@dataclass
class WorkspacePoster(RecordingPoster):
    """A `RecordingPoster` whose workspaces in `throttled` answer 429 until a clock time."""

    throttled: dict[str, float] = field(default_factory=dict)  # workspace -> limit lifts at
    landed: list[tuple[str, str, float]] = field(default_factory=list)  # (workspace, channel, at)
    busy: Counter[str] = field(default_factory=Counter)  # workspace -> posts in flight now
    most_busy: Counter[str] = field(default_factory=Counter)  # workspace -> most in flight

    async def post(
        self,
        channel: str,
        maxim: Maxim,
        *,
        key: str,
        workspace: str = "",
        style: str = "text",
        thread: bool = False,
    ) -> str:
        lifts = self.throttled.get(workspace, 0.0)
        if self.clock() < lifts:
            self.limits += 1
            raise RateLimited(lifts - self.clock())
        self.busy[workspace] += 1
        self.most_busy[workspace] = max(self.most_busy[workspace], self.busy[workspace])
        try:
            posted = await super().post(
                channel, maxim, key=key, workspace=workspace, style=style, thread=thread
            )
        finally:
            self.busy[workspace] -= 1
        self.landed.append((workspace, channel, self.clock()))
        return posted


def scheduler_for(storage, poster, time: EmulatedTime, **config) -> DailyScheduler:
    return DailyScheduler(
        storage=storage,
        posters={poster.platform: poster},
        corpus=load_corpus(),
        config=ScheduleConfig(**config),
        clock=Clock(berlin(2026, 11, 28, 9, 0)),
        timer=time.timer(),
    )


async def subscribe(storage: Storage, workspaces: dict[str, int]) -> None:
    """`workspaces[w]` channels in workspace w, named after it (so they sort by workspace)."""
    for workspace, channels in workspaces.items():
        for n in range(channels):
            await storage.save_subscription(
                replace(sub(f"{workspace}-{n:02d}"), workspace=workspace)
            )


async def until(predicate, what: str, timeout: float = 30) -> None:
    """Poll `predicate`; a hang fails the test with `what` (not a timing assertion)."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.005)
    except TimeoutError:
        pytest.fail(f"never happened: {what}", pytrace=False)


def landed_in(poster: WorkspacePoster, workspace: str) -> list[float]:
    return [at for ws, _, at in poster.landed if ws == workspace]


async def test_one_throttled_workspace_with_many_channels_does_not_slow_the_others(storage):
    # T0 sorts first: its 20 channels reach the slots before anyone else's.
    await subscribe(storage, {"T0": 20, "T1": 10, "T2": 10})
    time = EmulatedTime()
    start = time.now
    poster = WorkspacePoster(rate_limits=SLACK_LIKE, clock=time, throttled={"T0": start + LIMIT})
    scheduler = scheduler_for(
        storage, poster, time, max_concurrent_posts=2, max_concurrent_per_workspace=2
    )
    fan_out = asyncio.ensure_future(scheduler.run_slot(*NINE))

    others = lambda: len(landed_in(poster, "T1") + landed_in(poster, "T2"))  # noqa: E731
    await until(lambda: others() == 20, "all 20 posts of T1 and T2 while T0 is throttled")
    assert landed_in(poster, "T0") == []
    assert poster.limits >= 1  # T0 was answered 429
    assert set(landed_in(poster, "T1") + landed_in(poster, "T2")) == {start}  # nobody waited

    await time.run_out(fan_out)
    assert Counter(poster.channels()) == Counter(
        [f"T0-{n:02d}" for n in range(20)] + [f"T{w}-{n:02d}" for w in (1, 2) for n in range(10)]
    )
    assert min(landed_in(poster, "T0")) >= start + LIMIT  # only after its limit lifted


async def test_a_platform_wide_limit_still_pauses_every_workspace(storage):
    """Discord and the console keep one limit for the platform (discord.py's global one)."""
    await subscribe(storage, {"T0": 2, "T1": 10})
    time = EmulatedTime()
    start = time.now
    poster = WorkspacePoster(rate_limits=PLATFORM_WIDE, clock=time, throttled={"T0": start + 5})
    scheduler = scheduler_for(
        storage, poster, time, max_concurrent_posts=1, max_concurrent_per_workspace=1
    )
    await time.run_out(asyncio.ensure_future(scheduler.run_slot(*NINE)))

    assert len(poster.landed) == 12
    assert poster.limits >= 1
    assert min(landed_in(poster, "T1")) >= start + 5  # T0's 429 held T1 back too


async def test_posts_in_flight_to_one_workspace_never_exceed_its_bound(storage):
    await subscribe(storage, {"T0": 10, "T1": 10, "T2": 10})
    time = EmulatedTime()
    poster = WorkspacePoster(rate_limits=SLACK_LIKE, clock=time, gate=asyncio.Event())
    scheduler = scheduler_for(
        storage, poster, time, max_concurrent_posts=8, max_concurrent_per_workspace=2
    )
    fan_out = asyncio.ensure_future(scheduler.run_slot(*NINE))
    await until(lambda: poster.in_flight == 6, "two posts in flight in each workspace")
    poster.gate.set()
    await fan_out

    assert len(poster.landed) == 30
    assert poster.most_busy == {"T0": 2, "T1": 2, "T2": 2}  # the bound, used and never passed


async def test_a_stop_ends_every_wait_on_a_workspace_and_gives_its_claims_back(storage):
    await subscribe(storage, {"T0": 10, "T1": 2})
    time = EmulatedTime()
    poster = WorkspacePoster(rate_limits=SLACK_LIKE, clock=time, throttled={"T0": time.now + 100})
    scheduler = scheduler_for(
        storage, poster, time, max_concurrent_posts=2, max_concurrent_per_workspace=2
    )
    fan_out = asyncio.ensure_future(scheduler.run_slot(*NINE))
    await until(
        lambda: len(landed_in(poster, "T1")) == 2 and time.sleepers >= 2,
        "T1's posts out, and T0's two under way waiting out their limit",
    )

    await asyncio.wait_for(scheduler.stop(), 30)
    await asyncio.wait_for(fan_out, 30)  # no emulated time passed: no wait was waited out

    records = [r for r in await storage.list_posts("console") if r.channel.startswith("T0")]
    assert [(r.state, r.attempts) for r in records] == [("failed", 0)] * 2  # given back
    assert landed_in(poster, "T0") == []


async def claimed(storage: Storage) -> int:
    return sum(r.state == "claimed" for r in await storage.list_posts("console"))


async def test_the_next_posts_are_claimed_while_the_ceiling_is_on_its_way_and_no_more(storage):
    """A freed place goes to a post claimed already; at most as many are claimed ahead."""
    await subscribe(storage, {"T0": 4, "T1": 4, "T2": 4})
    time = EmulatedTime()
    poster = WorkspacePoster(rate_limits=SLACK_LIKE, clock=time, gate=asyncio.Event())
    scheduler = scheduler_for(
        storage, poster, time, max_concurrent_posts=2, max_concurrent_per_workspace=4
    )
    fan_out = asyncio.ensure_future(scheduler.run_slot(*NINE))
    await until(lambda: poster.in_flight == 2, "the ceiling's two posts on their way")
    for _ in range(200):  # claimed ahead: the two in flight, and two ready behind them
        if await claimed(storage) == 4:
            break
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.1)  # time enough for an unbounded fan-out to claim all twelve
    assert await claimed(storage) == 4
    assert poster.in_flight == 2  # the ceiling on posts on their way holds

    poster.gate.set()
    await fan_out
    assert len(poster.landed) == 12
    assert poster.max_in_flight == 2


async def test_recording_a_post_holds_no_place(storage, monkeypatch):
    """Posts keep going out while the database is slow to record the ones already out."""
    await subscribe(storage, {"T0": 5, "T1": 5})
    time = EmulatedTime()
    poster = WorkspacePoster(rate_limits=SLACK_LIKE, clock=time)
    scheduler = scheduler_for(
        storage, poster, time, max_concurrent_posts=2, max_concurrent_per_workspace=2
    )
    recording = asyncio.Event()
    complete_posts = storage.complete_posts

    async def slow_to_record(*args, **kwargs):
        await recording.wait()
        return await complete_posts(*args, **kwargs)

    monkeypatch.setattr(storage, "complete_posts", slow_to_record)
    fan_out = asyncio.ensure_future(scheduler.run_slot(*NINE))
    await until(lambda: len(poster.landed) == 10, "all ten posts out, none recorded yet")
    assert await claimed(storage) == 10

    recording.set()
    await fan_out
    records = await storage.list_posts("console")
    assert sorted(r.state for r in records) == ["posted"] * 10


def test_each_platform_keeps_its_limits_where_the_platform_does():
    from bot.platforms.console import ConsolePoster
    from bot.platforms.discord.poster import DiscordPoster
    from bot.platforms.slack.poster import SlackPoster

    assert SlackPoster.rate_limits == PostLimits(per_workspace=True, channel_interval=1.0)
    assert DiscordPoster.rate_limits == PLATFORM_WIDE  # discord.py keeps the buckets itself
    assert ConsolePoster.rate_limits == PLATFORM_WIDE
