"""Daily posts in card style on Discord: the card, exactly once, or the text where it can't go.

A card-style post is the daily message with the card attached (same nonce, same footer with
the day), so a retry is dropped by Discord's enforced nonce and a takeover finds the card in
the channel's history. Without Attach Files (403, code 50013) or over the size limit (413)
the text form goes out once, with the same nonce, and one WARNING line is logged.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.chat import channel_key
from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler, post_key
from bot.platforms.discord.poster import DiscordPoster, nonce_for
from maxims import load_corpus
from tests.bot.platforms.discord.helpers import HandledMessages, client_of
from tests.bot.platforms.discord.test_cards import assert_card, assert_card_embed, warnings_of
from tests.helpers import Clock, subscription

CORPUS = load_corpus()
DAY = dt.date(2026, 11, 28)
SINCE = dt.datetime.combine(DAY, dt.time(), dt.UTC)


async def test_a_card_style_daily_post_is_the_card_posted_once_and_found_again(fake, bot):
    handled = HandledMessages(client_of(bot))
    channel = str(fake.default_channel_id)
    key = post_key("discord", channel, DAY)

    message_id = await bot.poster.post(channel, CORPUS.get(34), key=key, style="card")
    retried = await bot.poster.post(channel, CORPUS.get(34), key=key, style="card")
    # A process taking the claim over finds the card in the channel before posting again.
    takeover = DiscordPoster(client_of(bot))
    found = await takeover.find_post(channel, key, since=SINCE)
    tomorrow = await takeover.find_post(
        channel, post_key("discord", channel, DAY + dt.timedelta(1)), since=SINCE
    )
    await handled.wait(int(message_id))

    [posted] = fake.messages  # the retry was dropped: same nonce
    assert retried == found == message_id == str(posted.id)
    assert tomorrow is None
    assert posted.nonce == nonce_for(key) and posted.payload["enforce_nonce"] is True
    [embed] = posted.embeds
    assert_card_embed(embed, CORPUS.get(34))
    assert embed["title"] == "Maxim of the day · #34"
    assert embed["footer"]["text"].endswith("maxim of the day · 2026-11-28")
    assert_card(posted.attachments, CORPUS.get(34))
    assert posted.allowed_mentions == {"parse": []}


@pytest.mark.parametrize("refusal", ["no attach files", "too large"])
async def test_a_card_discord_refuses_is_the_text_once_and_one_line(fake, bot, caplog, refusal):
    caplog.set_level(logging.INFO)
    handled = HandledMessages(client_of(bot))
    channel = str(fake.default_channel_id)
    key = post_key("discord", channel, DAY)
    if refusal == "too large":
        fake.max_request_bytes = 16_000
    else:
        fake.deny_attach_files(fake.default_channel_id)

    message_id = await bot.poster.post(channel, CORPUS.get(34), key=key, style="card")
    retried = await bot.poster.post(channel, CORPUS.get(34), key=key, style="card")
    found = await DiscordPoster(client_of(bot)).find_post(channel, key, since=SINCE)
    await handled.wait(int(message_id))

    [posted] = fake.messages  # the text, once: the retry is dropped by the same nonce
    assert retried == found == message_id == str(posted.id)
    assert posted.nonce == nonce_for(key)
    assert posted.embeds[0]["description"] == CORPUS.get(34).text
    assert posted.attachments == [] and fake.attachments == {}
    code = "HTTP 413, code 40005" if refusal == "too large" else "HTTP 403, code 50013"
    line = f"card refused in daily post to {channel} ({code}): sending the text"
    assert warnings_of(caplog) == [line, line]  # once per attempt, each one line


async def test_a_card_posted_by_a_process_that_died_is_found_by_the_takeover(fake, bot, storage):
    """The scheduler's exactly-once, through the real poster: a dead owner's card is found.

    A process claimed the post, Discord took its card, and it died before recording it; the
    scheduler that takes the claim over once the lease ran out (by then Discord's nonce window
    has passed too) finds the card in the channel's history and records it.
    """
    channel = str(fake.default_channel_id)
    await storage.save_subscription(
        subscription(
            channel,
            platform="discord",
            workspace=str(fake.default_guild_id),
            style="card",
            set_by="u",
            set_at=SINCE,
        )
    )
    clock = Clock(SINCE + dt.timedelta(hours=9))
    number = CORPUS.for_day(DAY, channel_key("discord", channel)).number
    await storage.claim_post(
        "discord",
        channel,
        DAY,
        number,
        owner="dead",
        now=clock.now,
        lease=dt.timedelta(seconds=300),
    )
    handled = HandledMessages(client_of(bot))
    dead_id = await bot.poster.post(
        channel, CORPUS.get(number), key=post_key("discord", channel, DAY), style="card"
    )
    await handled.wait(int(dead_id))
    scheduler = DailyScheduler(
        storage=storage,
        posters={"discord": DiscordPoster(client_of(bot))},  # the new process's poster
        corpus=CORPUS,
        config=ScheduleConfig(claim_timeout_seconds=300),
        clock=clock,
    )
    clock.advance(seconds=301)
    later = fake.clock() + 301
    fake.clock = lambda: later  # Discord has forgotten the nonce: only find_post can tell
    await scheduler.sweep()

    [posted] = fake.messages  # the card, once
    assert_card(posted.attachments, CORPUS.get(number))
    record = await storage.get_post("discord", channel, DAY)
    assert (record.state, record.message_id, record.attempts) == ("posted", dead_id, 2)
