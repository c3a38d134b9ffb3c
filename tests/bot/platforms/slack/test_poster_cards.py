"""Daily posts as cards on Slack: uploaded with files_upload_v2, found again, posted once.

A file message carries no message metadata, so the card's file name ends in a digest of the
post's key (`daily_card_name`), and `find_post` recognises it in the channel's history. The
poster is killed between the upload and the completion, and after the completion; the
takeover then leaves exactly one card in the channel. Real slack_sdk against the loopback fake,
real SQLite.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging

import pytest

from bot.cards import alt_text, render_card
from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler, post_key
from bot.platforms.slack.cards import daily_card_name
from bot.platforms.slack.poster import SlackPoster
from bot.poster import ChannelUnavailable
from bot.storage import Storage, Subscription
from maxims import Maxim, load_corpus
from tests.bot.platforms.slack.helpers import daily_subscription, platform_for, settings_for
from tests.bot.platforms.slack.test_poster import production_client
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.files import FILES_SCOPE

DAY = dt.date(2023, 11, 14)
DUE = dt.datetime(2023, 11, 14, 22, 0, tzinfo=dt.UTC)
NOW = DUE + dt.timedelta(minutes=14)
KEY = post_key("slack", "C1", DAY)
COMPLETE = "files.completeUploadExternal"


def todays() -> Maxim:
    return load_corpus().for_day(DAY, "slack:C1")


def card_subscription() -> Subscription:
    return dataclasses.replace(daily_subscription(at=DUE.time()), style="card")


async def taken_over(storage: Storage, poster: SlackPoster) -> DailyScheduler:
    """A scheduler about to take over the claim of a process that died mid-post."""
    await storage.save_subscription(card_subscription())
    await storage.claim_post(
        "slack", "C1", DAY, todays().number, owner="dead", now=DUE, lease=dt.timedelta(minutes=5)
    )
    return DailyScheduler(
        storage=storage,
        posters={"slack": poster},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: NOW,
    )


async def test_a_card_post_uploads_the_card_and_is_found_again(fake: FakeSlack):
    poster = SlackPoster(production_client(fake))
    maxim = todays()

    ts = await poster.post("C1", maxim, key=KEY, style="card")

    assert fake.calls_to("chat.postMessage") == []
    [message] = fake.channel_messages("C1")
    [file] = message["files"]
    assert message["ts"] == ts
    assert fake.uploaded_bytes(file["id"]) == render_card(maxim)
    assert file["name"] == daily_card_name(maxim, KEY)
    assert (file["title"], file["alt_txt"]) == (f"Maxim {maxim.number}", alt_text(maxim))
    assert "Maxim of the day" in message["text"]
    assert await poster.find_post("C1", KEY, since=DUE) == ts
    tomorrow = post_key("slack", "C1", DAY + dt.timedelta(days=1))
    assert await poster.find_post("C1", tomorrow, since=DUE) is None
    assert await poster.find_post("C1", post_key("slack", "C2", DAY), since=DUE) is None


async def test_a_poster_killed_between_upload_and_completion_is_posted_once_after_takeover(
    storage, fake: FakeSlack
):
    poster = SlackPoster(production_client(fake))
    scheduler = await taken_over(storage, poster)
    gate = fake.hold_next(COMPLETE, drop=True)
    dying = asyncio.ensure_future(poster.post("C1", todays(), key=KEY, style="card"))
    await fake.wait_until(lambda: fake.held[COMPLETE] == 1, "the completion to arrive")
    dying.cancel()  # the process dies with the bytes uploaded and the file not yet shared
    gate.set()
    await asyncio.gather(dying, return_exceptions=True)
    assert fake.channel_messages("C1") == []
    assert [f.uploaded for f in fake.uploaded_files.values()] == [True]

    assert await scheduler.deliver(card_subscription(), DAY)

    [message] = fake.file_messages("C1")
    assert len(fake.channel_messages("C1")) == 1
    [record] = await storage.list_posts("slack")
    assert (record.state, record.attempts, record.message_id) == ("posted", 2, message["ts"])
    assert fake.uploaded_bytes(message["files"][0]["id"]) == render_card(todays())


async def test_a_poster_killed_after_the_completion_is_not_posted_again(storage, fake: FakeSlack):
    poster = SlackPoster(production_client(fake))
    scheduler = await taken_over(storage, poster)
    dying = asyncio.ensure_future(poster.post("C1", todays(), key=KEY, style="card"))
    await fake.wait_for(COMPLETE, ok=True)
    dying.cancel()  # dies before its database write: the card is shared, nobody knows its ts
    await asyncio.gather(dying, return_exceptions=True)
    [earlier] = fake.file_messages("C1")

    assert not await scheduler.deliver(card_subscription(), DAY)

    assert fake.file_messages("C1") == [earlier]
    assert len(fake.channel_messages("C1")) == 1
    assert len(fake.calls_to("files.getUploadURLExternal")) == 1
    [record] = await storage.list_posts("slack")
    assert (record.state, record.message_id) == ("posted", earlier["ts"])


async def test_without_files_write_the_daily_card_is_the_text_and_one_line(fake, caplog):
    caplog.set_level(logging.INFO)
    fake.deny_scope(FILES_SCOPE)
    poster = SlackPoster(production_client(fake))

    ts = await poster.post("C1", todays(), key=KEY, style="card")

    [message] = fake.channel_messages("C1")
    assert message["ts"] == ts
    assert message["text"].startswith("Maxim of the day.")
    assert await poster.find_post("C1", KEY, since=DUE) == ts  # metadata, as any text post
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warnings] == ["bot.platforms.slack.poster"]
    assert "files:write" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_channel_without_the_bot_is_unavailable_for_a_card_too(fake):
    poster = SlackPoster(production_client(fake))
    fake.member_of.clear()
    fake.channel_members["C1"] = {"U1"}  # the channel is there; the bot is not in it

    with pytest.raises(ChannelUnavailable) as caught:
        await poster.post("C1", todays(), key=KEY, style="card")

    assert caught.value.reason == "not_in_channel"
    assert fake.channel_messages("C1") == []


def test_the_platforms_poster_draws_with_the_chat_services_cards(fake, storage):
    # One cache per process: a card drawn for a preview's Send is not drawn again at 09:00.
    platform = platform_for(settings_for(fake), storage)

    assert platform.poster.cards is platform.service.cards


async def test_while_slack_has_not_said_where_it_shared_the_card_the_file_id_stands_in(fake):
    # completeUploadExternal may answer before the share exists (empty "shares"): the post
    # is made all the same, and the record keeps the file id rather than nothing.
    fake.share_info_delayed = True
    poster = SlackPoster(production_client(fake))

    posted = await poster.post("C1", todays(), key=KEY, style="card")

    [message] = fake.file_messages("C1")
    assert posted == message["files"][0]["id"]
    assert await poster.find_post("C1", KEY, since=DUE) == message["ts"]
