"""Daily posts to Slack: `SlackPoster` over the real slack_sdk client, alone and scheduled.

The loopback fake answers chat.postMessage and conversations.history, and injects 429s and
``ok: false`` errors; storage is real SQLite.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.config import ScheduleConfig, Settings
from bot.daily.scheduler import DailyScheduler, post_key
from bot.platforms.slack.poster import SlackPoster
from bot.platforms.slack.web import build_web_client
from bot.poster import ChannelUnavailable, PostError, RateLimited
from bot.storage import Storage
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import BOT_TOKEN, daily_subscription
from tests.fakes.slack.api import FakeSlack

DAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 28, 9, 1, tzinfo=dt.UTC)


def production_client(fake: FakeSlack):
    """The client the bot really uses: the fake's URL, our retry handlers."""
    settings = Settings.model_validate(
        {"slack": {"api_url": fake.url}, "secrets": {"slack_bot_token": BOT_TOKEN}}
    )
    return build_web_client(settings.slack, settings.secrets)


async def test_the_daily_post_carries_its_key_and_can_be_found_again(fake):
    poster = SlackPoster(production_client(fake))
    maxim = load_corpus().get(34)
    key = post_key("slack", "C1", DAY)

    ts = await poster.post("C1", maxim, key=key)

    [call] = fake.calls_to("chat.postMessage")
    assert call.body["metadata"] == {"event_type": "maxim_daily", "event_payload": {"key": key}}
    assert call.body["text"] == f"Maxim of the day. Maxim 34: {maxim.text}"
    assert "Maxim of the day" in call.body["blocks"][0]["text"]["text"]
    assert call.body["blocks"][1]["text"]["text"] == f">{maxim.text}"
    since = dt.datetime.fromtimestamp(float(ts) - 60, dt.UTC)
    assert await poster.find_post("C1", key, since=since) == ts
    tomorrow = post_key("slack", "C1", DAY + dt.timedelta(1))
    assert await poster.find_post("C1", tomorrow, since=since) is None
    assert await poster.find_post("C2", key, since=since) is None


async def test_the_earlier_attempt_is_found_behind_a_busy_days_chatter(fake):
    # After a takeover the bot looks for the crashed attempt before posting again. A fixed
    # "last 100 messages" would miss it behind 450 newer ones: it reads from the scheduled
    # time on (`oldest`), page by page.
    poster = SlackPoster(production_client(fake))
    key = post_key("slack", "C1", DAY)
    ts = await poster.post("C1", load_corpus().get(34), key=key)
    fake.add_chatter("C1", 450)

    found = await poster.find_post(
        "C1", key, since=dt.datetime.fromtimestamp(float(ts) - 60, dt.UTC)
    )

    assert found == ts
    assert [(offset, read) for _, offset, read in fake.history_pages] == [
        (0, 200),
        (200, 200),
        (400, 51),
    ]


async def test_messages_older_than_the_scheduled_time_are_not_read(fake):
    poster = SlackPoster(production_client(fake))
    key = post_key("slack", "C1", DAY)
    ts = await poster.post("C1", load_corpus().get(34), key=key)
    fake.add_chatter("C1", 5)

    later = dt.datetime.fromtimestamp(float(ts) + 0.0000005, dt.UTC)
    assert await poster.find_post("C1", key, since=later) is None
    assert [read for _, _, read in fake.history_pages] == [5]


async def test_a_rate_limit_reaches_the_scheduler_at_once_not_slept_out_in_slack_sdk(fake):
    # slack_sdk would sleep it out holding one of the process's posting slots; the scheduler
    # pauses only that workspace instead (`bot.daily.pacing`).
    poster = SlackPoster(production_client(fake))
    fake.rate_limit_next("chat.postMessage", retry_after=30)

    with pytest.raises(RateLimited) as caught:
        await poster.post("C1", load_corpus().get(1), key="k")

    assert caught.value.retry_after == 30.0
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429]
    assert fake.channel_messages("C1") == []


async def test_a_rate_limit_saying_wait_0_is_waited_a_second_not_retried_at_once(fake):
    poster = SlackPoster(production_client(fake))
    fake.rate_limit_next("chat.postMessage", retry_after=0)

    with pytest.raises(RateLimited) as caught:
        await poster.post("C1", load_corpus().get(1), key="k")

    assert caught.value.retry_after == 1.0  # a channel's second: never a busy loop


async def test_a_rate_limit_left_over_is_rate_limited_with_slacks_wait(fake):
    poster = SlackPoster(fake.web_client())  # no retry handlers: the 429 reaches us at once
    fake.rate_limit_next("chat.postMessage", retry_after=7)

    with pytest.raises(RateLimited) as caught:
        await poster.post("C1", load_corpus().get(1), key="k")

    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(
    "error", ["not_in_channel", "channel_not_found", "is_archived", "channel_is_archived"]
)
async def test_a_channel_the_bot_cannot_post_to_is_unavailable(fake, error):
    poster = SlackPoster(production_client(fake))
    fake.fail_next("chat.postMessage", error)

    with pytest.raises(ChannelUnavailable) as caught:
        await poster.post("C1", load_corpus().get(1), key="k")

    assert caught.value.permanent
    assert caught.value.reason == error


async def test_other_slack_errors_are_post_errors_worth_retrying(fake):
    poster = SlackPoster(production_client(fake))
    fake.fail_next("chat.postMessage", "msg_too_long")
    fake.fail_next("conversations.history", "channel_not_found")

    with pytest.raises(PostError) as caught:
        await poster.post("C1", load_corpus().get(1), key="k")
    with pytest.raises(ChannelUnavailable):
        await poster.find_post("C1", "k", since=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))

    assert not caught.value.permanent
    assert caught.value.reason == "msg_too_long"


# ------------------------------------------------------------------------------ with the scheduler


def scheduler(storage: Storage, fake: FakeSlack) -> DailyScheduler:
    return DailyScheduler(
        storage=storage,
        posters={"slack": SlackPoster(production_client(fake))},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: NOW,
    )


async def test_the_scheduler_posts_through_a_rate_limit_once(storage, fake):
    sub = daily_subscription("C1")
    await storage.save_subscription(sub)
    fake.rate_limit_next("chat.postMessage", retry_after=0)

    assert await scheduler(storage, fake).deliver(sub, DAY)

    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    [message] = fake.channel_messages("C1")
    [record] = await storage.list_posts("slack")
    assert (record.state, record.message_id) == ("posted", message["ts"])
    expected = load_corpus().for_day(DAY, "slack:C1")
    assert message["text"] == f"Maxim of the day. Maxim {expected.number}: {expected.text}"


async def test_not_in_channel_marks_the_subscription_failing_without_retrying(storage, fake):
    sub = daily_subscription("C1")
    await storage.save_subscription(sub)
    fake.member_of.clear()  # the bot was removed from the channel

    assert not await scheduler(storage, fake).deliver(sub, DAY)

    assert len(fake.calls_to("chat.postMessage")) == 1
    saved = await storage.get_subscription("slack", "C1")
    assert saved is not None
    assert saved.failing == "not_in_channel"
    [record] = await storage.list_posts("slack")
    assert record.next_attempt_at is None  # no retry scheduled
