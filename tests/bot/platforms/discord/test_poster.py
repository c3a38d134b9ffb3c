"""The daily post through `DiscordPoster`: nonce, finding it again, rate limits, refusals.

Failures are the ones Discord produces (403/404 on a post, 429 with ``Via``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler, post_key
from bot.platforms.discord.client import MAX_RATE_LIMIT_WAIT
from bot.platforms.discord.poster import nonce_for
from bot.poster import ChannelUnavailable, RateLimited
from maxims import load_corpus
from tests.bot.platforms.discord.helpers import HARD_TIMEOUT, HandledMessages, client_of
from tests.helpers import subscription

CORPUS = load_corpus()
DAY = dt.date(2026, 11, 28)


async def test_the_daily_post_is_an_embed_with_a_nonce_and_can_be_found_again(fake, bot):
    poster = bot.poster  # as the running platform hands it to the scheduler
    handled = HandledMessages(client_of(bot))  # Discord echoes our posts to us
    channel = str(fake.default_channel_id)
    key = post_key("discord", channel, DAY)
    message_id = await poster.post(channel, CORPUS.get(34), key=key)
    again = await poster.post(channel, CORPUS.get(34), key=key)  # a retry after a crash
    since = dt.datetime.combine(DAY, dt.time(), dt.UTC)
    found = await poster.find_post(channel, key, since=since)
    tomorrow = post_key("discord", channel, DAY + dt.timedelta(1))
    other_day = await poster.find_post(channel, tomorrow, since=since)
    await handled.wait(int(message_id))

    [posted] = fake.messages  # Discord dropped the retry: same nonce
    assert again == message_id == found == str(posted.id)
    assert other_day is None
    assert posted.nonce == nonce_for(key) and len(str(posted.nonce)) <= 25
    assert posted.payload["enforce_nonce"] is True
    assert posted.allowed_mentions == {"parse": []}
    [embed] = posted.embeds
    assert embed["title"] == "Maxim of the day · #34"
    assert embed["description"] == CORPUS.get(34).text
    assert (
        embed["footer"]["text"] == "nan, learning-rate, debugging · maxim of the day · 2026-11-28"
    )


async def test_a_rate_limited_post_is_retried(fake, bot):
    poster = bot.poster
    handled = HandledMessages(client_of(bot))
    fake.rate_limit_next("POST", re.compile(r"^/channels/\d+/messages$"), retry_after=0.05)
    channel = str(fake.default_channel_id)
    message_id = await poster.post(channel, CORPUS.get(1), key=post_key("discord", channel, DAY))
    await handled.wait(int(message_id))
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in posts] == [429, 200]
    assert [str(m.id) for m in fake.messages] == [message_id]


async def test_a_rate_limit_longer_than_the_bots_wait_is_rate_limited_at_once(fake, bot):
    poster = bot.poster
    messages = re.compile(r"^/channels/\d+/messages$")
    channel = str(fake.default_channel_id)
    # Longer than MAX_RATE_LIMIT_WAIT: discord.py would otherwise sleep it out, past the
    # daily-post claim's lease. This waits for nothing: the test ends at once.
    fake.rate_limit_next("POST", messages, retry_after=MAX_RATE_LIMIT_WAIT + 540)
    with pytest.raises(RateLimited) as first:
        async with asyncio.timeout(HARD_TIMEOUT):  # a regression would sleep 600 s
            await poster.post(channel, CORPUS.get(1), key=post_key("discord", channel, DAY))
    assert first.value.retry_after == MAX_RATE_LIMIT_WAIT + 540
    posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
    assert [r.status for r in posts] == [429]  # not retried: the scheduler pauses instead
    assert fake.messages == []


async def test_a_missing_or_forbidden_channel_is_channel_unavailable(fake, bot):
    poster = bot.poster
    denied = fake.add_text_channel(name="locked")
    fake.deny_channel(denied.id)
    with pytest.raises(ChannelUnavailable, match=r"unknown channel \(10003\)"):
        await poster.post("123456789", CORPUS.get(1), key="k1")
    with pytest.raises(ChannelUnavailable, match=r"missing permissions \(50013\)"):
        await poster.post(str(denied.id), CORPUS.get(1), key="k2")
    with pytest.raises(ChannelUnavailable, match="not a Discord channel id"):
        await poster.post("general", CORPUS.get(1), key="k3")
    assert fake.messages == []


async def test_the_scheduler_marks_a_missing_channel_failing(fake, bot, storage):
    poster = bot.poster
    now = dt.datetime(2026, 11, 28, 9, 1, tzinfo=dt.UTC)
    live, gone = str(fake.default_channel_id), "987654321"
    for channel in (live, gone):
        await storage.save_subscription(
            subscription(
                channel,
                platform="discord",
                workspace=str(fake.default_guild_id),
                set_by="u",
                set_at=now,
            )
        )
    scheduler = DailyScheduler(
        storage=storage,
        posters={"discord": poster},
        corpus=CORPUS,
        config=ScheduleConfig(),
        clock=lambda: now,
    )
    handled = HandledMessages(client_of(bot))
    assert await scheduler.deliver(await storage.get_subscription("discord", live), DAY)
    assert not await scheduler.deliver(await storage.get_subscription("discord", gone), DAY)
    await handled.wait(*(m.id for m in fake.messages))
    assert [m.channel_id for m in fake.messages] == [fake.default_channel_id]
    assert (await storage.get_subscription("discord", live)).failing is None
    assert "unknown channel" in ((await storage.get_subscription("discord", gone)).failing or "")
