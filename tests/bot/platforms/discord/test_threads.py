"""`thread = true` on Discord: the daily post opens a public thread named after the maxim.

Through real discord.py against the emulator: the thread is opened after the post went out,
and one that Discord refuses (no Create Public Threads: 403, 50013) leaves the post alone,
posted once, with one log line.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.platforms.discord.render import thread_name
from maxims import load_corpus
from tests.bot.platforms.discord.helpers import HandledMessages, client_of
from tests.helpers import subscription

CORPUS = load_corpus()
DAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 28, 9, 1, tzinfo=dt.UTC)
LONGEST = max(CORPUS.maxims, key=lambda m: len(m.text))


async def deliver(fake, bot, storage, *, thread: bool):
    """Run the scheduler's delivery of today's post to the default channel, as at 09:01."""
    channel = str(fake.default_channel_id)
    sub = subscription(
        channel,
        platform="discord",
        workspace=str(fake.default_guild_id),
        set_by="u",
        set_at=NOW,
        thread=thread,
    )
    await storage.save_subscription(sub)
    scheduler = DailyScheduler(
        storage=storage,
        posters={"discord": bot.poster},
        corpus=CORPUS,
        config=ScheduleConfig(),
        clock=lambda: NOW,
    )
    handled = HandledMessages(client_of(bot))
    before = len(fake.messages)
    delivered = await scheduler.deliver(await storage.get_subscription("discord", channel), DAY)
    await handled.wait(*(m.id for m in fake.messages[before:]))  # Discord echoes our posts
    return delivered, await storage.get_post("discord", channel, DAY)


async def test_the_daily_post_opens_a_thread_named_after_its_maxim(fake, bot, storage):
    delivered, record = await deliver(fake, bot, storage, thread=True)
    [posted] = fake.messages
    [thread] = fake.threads
    assert delivered and record.state == "posted" and record.message_id == str(posted.id)
    maxim = CORPUS.get(record.maxim_number)
    assert thread.message_id == posted.id and thread.channel_id == fake.default_channel_id
    assert thread.name == thread_name(maxim)
    assert thread.name.startswith(f"Maxim {maxim.number}: ")
    assert thread.auto_archive_duration == 1440


async def test_without_thread_no_thread_is_opened(fake, bot, storage):
    delivered, _ = await deliver(fake, bot, storage, thread=False)
    assert delivered and len(fake.messages) == 1
    assert fake.threads == []
    assert not [r for r in fake.requests if r.path.endswith("/threads")]


async def test_without_create_public_threads_the_post_goes_out_once_and_one_line_says_why(
    fake, bot, storage, caplog
):
    fake.deny_create_threads(fake.default_channel_id)
    with caplog.at_level(logging.WARNING, logger="bot.platforms.discord.poster"):
        delivered, record = await deliver(fake, bot, storage, thread=True)
        again, _ = await deliver(fake, bot, storage, thread=True)  # the day is done: no repeat
    [posted] = fake.messages
    assert delivered and not again
    assert record.state == "posted" and record.message_id == str(posted.id)
    assert record.attempts == 1
    assert fake.threads == []
    [line] = [r for r in caplog.records if "without its thread" in r.getMessage()]
    assert "missing permissions (50013)" in line.getMessage()
    assert "Create Public Threads" in line.getMessage()
    assert line.exc_info is None  # one line, no traceback


def test_a_thread_name_fits_discords_100_characters():
    assert len(f"Maxim {LONGEST.number}: {LONGEST.text}") > 100  # else this proves nothing
    name = thread_name(LONGEST)
    assert len(name) == 100 and name.endswith("…")
    assert name.startswith(f"Maxim {LONGEST.number}: {LONGEST.text[:20]}")
    short = CORPUS.get(34)
    assert thread_name(short) == f"Maxim 34: {short.text}" or len(thread_name(short)) == 100


async def test_the_longest_maxims_thread_is_accepted_by_discord(fake, bot):
    poster = bot.poster
    handled = HandledMessages(client_of(bot))
    channel = str(fake.default_channel_id)
    message_id = await poster.post(channel, LONGEST, key=f"discord:{channel}:2026-11-28")
    await handled.wait(int(message_id))
    assert await poster.open_thread(channel, int(message_id), LONGEST)
    [thread] = fake.threads
    assert thread.name == thread_name(LONGEST)
