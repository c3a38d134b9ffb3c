"""`thread = true` on Slack: the daily post invites replies in its thread, and that is all.

Slack threads need no setup, so the bot opens nothing and posts nothing else: one message,
with a context line (or, for a card, a comment) saying to reply in the thread. Through the
real slack_sdk client and the scheduler, against the loopback fake.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.platforms.slack.poster import SlackPoster
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import daily_subscription
from tests.bot.platforms.slack.test_poster import production_client

DAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 28, 9, 1, tzinfo=dt.UTC)
INVITE = "Reply in the thread to talk about it"


async def deliver(storage, fake, **changes):
    sub = dataclasses.replace(daily_subscription("C1"), **changes)
    await storage.save_subscription(sub)
    scheduler = DailyScheduler(
        storage=storage,
        posters={"slack": SlackPoster(production_client(fake))},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: NOW,
    )
    return await scheduler.deliver(sub, DAY)


def context_text(message) -> str:
    return " ".join(
        e.get("text", "")
        for b in message.get("blocks", [])
        if b["type"] == "context"
        for e in b["elements"]
    )


async def test_a_threaded_daily_post_invites_replies_and_posts_nothing_else(storage, fake):
    assert await deliver(storage, fake, thread=True)

    [call] = fake.calls_to("chat.postMessage")  # one message: no reply of our own in the thread
    assert "thread_ts" not in call.body
    [message] = fake.channel_messages("C1")
    assert INVITE in context_text(message)
    [record] = await storage.list_posts("slack")
    assert (record.state, record.message_id) == ("posted", message["ts"])


async def test_a_daily_post_without_thread_has_no_invitation(storage, fake):
    assert await deliver(storage, fake)
    [message] = fake.channel_messages("C1")
    assert INVITE not in context_text(message)


async def test_a_threaded_daily_card_invites_replies_in_its_comment(storage, fake):
    assert await deliver(storage, fake, thread=True, style="card")

    assert fake.calls_to("chat.postMessage") == []  # the card's share is the one message
    [message] = fake.channel_messages("C1")
    assert message["files"] and INVITE in message["text"]
