"""The duplicate check under Slack's history limit for apps outside the Slack Marketplace.

Since 2025-05-29 such an app gets one ``conversations.history`` call a minute per workspace,
15 messages a page (`FakeSlack.history_rate_limit`). After a takeover, `SlackPoster.find_post`
must still read the whole window before the scheduler posts: it waits out each 429 itself
(with the production client, whose slack_sdk retry handler would otherwise sleep silently),
logs each wait, and gives up with `RateLimited` after its budget, never with "not there".

Time is `Ticks`: the fake's clock, which the poster's `sleep` moves; nothing really waits.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator

import pytest

from bot.config import ScheduleConfig, Settings
from bot.daily.scheduler import DailyScheduler, post_key
from bot.platforms.slack.poster import HISTORY_WAIT_BUDGET, SlackPoster
from bot.platforms.slack.web import build_web_client, without_rate_limit_retry
from bot.poster import RateLimited
from bot.storage import Storage
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import APP_TOKEN, BOT_TOKEN, daily_subscription
from tests.fakes.slack.api import FakeSlack

# The fake's message ts start at 1_700_000_000 (2023-11-14 22:13:20 UTC): the daily post was
# due at 22:00 that day, and the process that claimed it died.
DAY = dt.date(2023, 11, 14)
DUE = dt.datetime(2023, 11, 14, 22, 0, tzinfo=dt.UTC)
NOW = DUE + dt.timedelta(minutes=14)
THROTTLED = "Slack: conversations.history is rate-limited in C1 (retry after {} s;"
POSTER_LOG = "bot.platforms.slack.poster"


class Ticks:
    """The fake's clock (seconds) and the poster's `sleep`, which moves it instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
async def fake(ticks: Ticks) -> AsyncIterator[FakeSlack]:
    """The emulator with the non-Marketplace limit on: 1 history call a minute, 15 a page."""
    async with FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN, clock=ticks) as server:
        server.history_rate_limit(per_minute=1, max_limit=15)
        yield server


def limited_poster(fake: FakeSlack, ticks: Ticks) -> SlackPoster:
    """The client the bot really uses (slack_sdk's rate-limit retry handler included)."""
    settings = Settings.model_validate(
        {"slack": {"api_url": fake.url}, "secrets": {"slack_bot_token": BOT_TOKEN}}
    )
    client = build_web_client(settings.slack, settings.secrets)
    return SlackPoster(client, sleep=ticks.sleep, clock=ticks)


def throttle_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == POSTER_LOG and r.levelno == logging.WARNING
    ]


def daily_posts(fake: FakeSlack, channel: str) -> list[dict]:
    return [m for m in fake.channel_messages(channel) if m.get("metadata")]


async def test_an_earlier_attempt_under_40_newer_messages_is_found_a_page_a_minute(
    fake, ticks, caplog
):
    poster = limited_poster(fake, ticks)
    key = post_key("slack", "C1", DAY)
    ts = await poster.post("C1", load_corpus().get(34), key=key)
    fake.add_chatter("C1", 40)
    await fake.web_client().conversations_history(channel="C1")  # this minute's one call
    ticks.now += 20
    caplog.set_level(logging.WARNING, logger=POSTER_LOG)

    found = await asyncio.wait_for(poster.find_post("C1", key, since=DUE), 10)

    assert found == ts
    history = fake.calls_to("conversations.history")[1:]
    assert [(c.status, c.body.get("cursor")) for c in history] == [
        (429, None),
        (200, None),
        (429, "15"),
        (200, "15"),
        (429, "30"),
        (200, "30"),
    ]
    assert [read for _, _, read in fake.history_pages[1:]] == [15, 15, 11]
    assert ticks.slept == [40, 60, 60]  # each Retry-After, once
    warnings = throttle_warnings(caplog)
    assert len(warnings) == 3  # one line per throttle
    for warning, wait in zip(warnings, (40, 60, 60), strict=True):
        assert warning.startswith(THROTTLED.format(wait))
    assert "late rather than twice" in warnings[0]


async def test_a_limit_longer_than_the_budget_is_rate_limited_not_not_found(fake, ticks):
    poster = limited_poster(fake, ticks)
    fake.add_chatter("C1", 300)  # 20 pages: 19 minutes of waiting, more than the budget

    with pytest.raises(RateLimited) as caught:
        await asyncio.wait_for(poster.find_post("C1", "k", since=DUE), 10)

    assert ticks.slept == [60] * (HISTORY_WAIT_BUDGET // 60)
    assert caught.value.retry_after == 60
    assert "rate-limited" in caught.value.reason


def test_the_history_client_is_a_copy_without_only_the_rate_limit_retry(fake, ticks):
    client = limited_poster(fake, ticks).client

    copy = without_rate_limit_retry(client)

    assert (copy.token, copy.base_url, copy.headers) == (
        client.token,
        client.base_url,
        client.headers,
    )
    kinds = [type(h).__name__ for h in client.retry_handlers]
    assert kinds[0] == "AsyncRateLimitErrorRetryHandler"  # the original keeps it
    assert [type(h).__name__ for h in copy.retry_handlers] == kinds[1:]


# ------------------------------------------------------------------------------ with the scheduler


async def taken_over(storage: Storage, poster: SlackPoster) -> DailyScheduler:
    """A scheduler about to take over the claim of a process that died (it never beat)."""
    sub = daily_subscription(at=DUE.time())
    await storage.save_subscription(sub)
    number = load_corpus().for_day(DAY, "slack:C1").number
    await storage.claim_post(
        "slack",
        "C1",
        DAY,
        number,
        owner="dead",
        now=DUE,
        lease=dt.timedelta(minutes=5),
    )
    return DailyScheduler(
        storage=storage,
        posters={"slack": poster},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: NOW,
    )


@pytest.mark.parametrize("reached_slack", [True, False])
async def test_a_takeover_under_the_limit_posts_once_late(storage, fake, ticks, reached_slack):
    poster = limited_poster(fake, ticks)
    scheduler = await taken_over(storage, poster)
    key = post_key("slack", "C1", DAY)
    if reached_slack:  # the dead process's post went out before it died
        maxim = load_corpus().for_day(DAY, "slack:C1")
        earlier = await poster.post("C1", maxim, key=key)
    fake.add_chatter("C1", 40)

    posted = await asyncio.wait_for(scheduler.deliver(daily_subscription(at=DUE.time()), DAY), 10)

    [message] = daily_posts(fake, "C1")
    [record] = await storage.list_posts("slack")
    assert (record.state, record.attempts, record.message_id) == ("posted", 2, message["ts"])
    assert ticks.slept == [60, 60]  # three 15-message pages, a minute apart
    methods = [c.method for c in fake.calls]
    if reached_slack:
        assert not posted
        assert message["ts"] == earlier
        assert methods.count("chat.postMessage") == 1  # the dead process's
    else:
        assert posted
        assert methods[-1] == "chat.postMessage"  # after the whole window was read
        assert methods.count("chat.postMessage") == 1


async def test_a_takeover_throttled_past_the_budget_posts_nothing_and_retries_later(
    storage, fake, ticks
):
    scheduler = await taken_over(storage, limited_poster(fake, ticks))
    fake.add_chatter("C1", 300)

    assert not await asyncio.wait_for(scheduler.deliver(daily_subscription(at=DUE.time()), DAY), 10)

    assert fake.calls_to("chat.postMessage") == []
    [record] = await storage.list_posts("slack")
    assert (record.state, record.attempts) == ("failed", 2)
    assert record.next_attempt_at is not None  # tried again later, not given up
    assert "rate-limited" in (record.error or "")
    saved = await storage.get_subscription("slack", "C1")
    assert saved is not None
    assert saved.failing is None
