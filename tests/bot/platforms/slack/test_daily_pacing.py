"""Slack's limits kept where Slack keeps them: per workspace, and a second per channel.

End to end: the bot in OAuth mode (installed through the real OAuth pages into three
workspaces), the real scheduler, `SlackPoster` and slack_sdk, against the emulator with
Slack's chat.postMessage limits on. Time is emulated: the emulator's clock and the scheduler's
rate-limit waits (`bot.daily.pacing.Timer`) are one `EmulatedTime`, so a 45 s limit lifts when
the test moves the clock, and each post records the emulated second it landed at.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter

import pytest

from bot.config import ScheduleConfig
from bot.daily.pacing import Pacing
from bot.daily.scheduler import DailyScheduler, post_key
from bot.platforms.slack.lifecycle import SlackPlatform
from bot.platforms.slack.poster import SlackPoster
from bot.storage import Storage
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import daily_subscription
from tests.bot.platforms.slack.test_oauth import CLIENT_ID, CLIENT_SECRET, install, oauth_bot
from tests.fakes.slack.api import FakeSlack
from tests.helpers import EmulatedTime

TEAMS = ("T1", "T2", "T3")
THROTTLED = "T3"
CHANNELS = 40
LIMIT = 45  # seconds T3 answers every post with 429
DAY = dt.date(2026, 12, 1)
DUE = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def channels_of(team: str) -> list[str]:
    return [f"C{team[1:]}{n:02d}" for n in range(CHANNELS)]


@pytest.fixture
def time(fake: FakeSlack) -> EmulatedTime:
    """The emulator's clock and the scheduler's waits: set before any token is issued."""
    fake.clock = EmulatedTime()
    return fake.clock


@pytest.fixture
async def bot(fake: FakeSlack, storage: Storage, started, time: EmulatedTime) -> SlackPlatform:
    """The bot in OAuth mode, installed in T1, T2 and T3, 40 channels each."""
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    fake.member_of = set(channels_of("T1"))
    for team in TEAMS[1:]:
        fake.add_workspace(team, channels=channels_of(team))
    platform = await started(oauth_bot(fake, storage))
    for team in TEAMS:
        assert await install(platform, fake, team) == 200
    return platform


def team_of(channel: str) -> str:
    return f"T{channel[1]}"


async def test_a_throttled_workspace_holds_back_only_its_own_posts(bot, fake, storage, time):
    for team in TEAMS:
        for channel in channels_of(team):
            await storage.save_subscription(daily_subscription(channel, team))
    scheduler = DailyScheduler(
        storage=storage,
        posters={"slack": bot.poster},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: DUE,
        timer=time.timer(),
    )
    fake.clear()
    start = time.now
    fake.throttle(THROTTLED, seconds=LIMIT)

    fan_out = asyncio.ensure_future(scheduler.run_slot(dt.time(9), "UTC"))
    landed = lambda: fake.calls_to("chat.postMessage", ok=True)  # noqa: E731
    await fake.wait_until(lambda: len(landed()) >= 80, "the 80 posts of T1 and T2", timeout=30)
    others = landed()
    assert {team_of(c.body["channel"]) for c in others} == {"T1", "T2"}
    assert max(c.at for c in others) <= start + 20  # emulated: none waited for T3's limit
    refused = fake.calls_to("chat.postMessage", ok=False)
    assert refused
    assert {(c.team, c.status) for c in refused} == {(THROTTLED, 429)}

    await time.run_out(fan_out)
    posts = landed()
    assert Counter(c.body["channel"] for c in posts) == Counter(
        channel for team in TEAMS for channel in channels_of(team)
    )  # every channel exactly once
    for call in posts:  # each with its own workspace's token
        assert call.team == team_of(call.body["channel"])
        assert call.token in fake.tokens_for(call.team)
    throttled = [c.at for c in posts if c.team == THROTTLED]
    assert len(throttled) == CHANNELS
    assert min(throttled) >= start + LIMIT  # only once the limit lifted
    assert {p.state for p in await storage.list_posts("slack")} == {"posted"}
    # One pool of keep-alive connections serves every workspace's token: the 120 posts (and
    # the 429s) came over at most as many connections as posts may be under way at once.
    assert len({c.peer for c in fake.calls_to("chat.postMessage")}) <= (
        ScheduleConfig().max_concurrent_posts
    )


async def test_two_posts_to_one_channel_are_a_second_apart(fake):
    time = EmulatedTime()
    fake.clock = time
    fake.post_rate_limit()  # Slack: about one message a second per channel
    poster = SlackPoster(fake.web_client())
    pacing = Pacing(asyncio.Event(), budget=150, timer=time.timer())
    sub = daily_subscription("C1")
    maxim = load_corpus().get(34)

    both = asyncio.gather(
        pacing.post(poster, sub, maxim, post_key("slack", "C1", DAY)),
        pacing.post(poster, sub, maxim, post_key("slack", "C1", DAY + dt.timedelta(days=1))),
    )
    # Emulated time moves only when the test moves it: let the first post's call reach the
    # emulator and come back first, as it would in the second that passes in real time.
    await fake.wait_for("chat.postMessage")
    await time.run_out(both)

    posts = fake.calls_to("chat.postMessage")
    assert [c.status for c in posts] == [200, 200]  # spaced, not answered 429
    assert posts[1].at - posts[0].at == 1.0
