"""What the bot does for each `/maxim` and `/maxim-daily`, and where its errors end.

The real discord.py client runs against the loopback Discord: slash commands go through the
emulator's gateway as Discord sends them; what the bot does comes back as recorded REST calls.
Storage is real SQLite, the corpus is the real one. No sleeps: tests wait for a recording or
for discord.py's own events.
"""

from __future__ import annotations

import asyncio
import time

from bot.chat import ACK_DEADLINE
from bot.daily.commands import ADMINS_ONLY
from bot.platforms.discord.render import CUSTOM_ID_LIMIT
from maxims import load_corpus
from tests.bot.platforms.discord.helpers import (
    NAN_NUMBERS,
    client_of,
    custom_ids,
    make_service,
    maxim_number,
    no_pings,
    run_command,
    running,
    settings_for,
)
from tests.fakes.discord.api import (
    ADMINISTRATOR,
    INTERACTION_DEADLINE,
    SEND_MESSAGES,
    VIEW_CHANNEL,
)

CORPUS = load_corpus()
MANAGE_CHANNELS = 1 << 4


# ------------------------------------------------------------------------------ /maxim


async def test_maxim_without_query_is_a_private_preview_with_three_buttons(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim")
    assert callback.type == 4 and callback.ephemeral
    assert callback.data is not None
    [embed] = callback.data["embeds"]
    assert 1 <= maxim_number(embed) <= 70
    assert no_pings(callback.data["allowed_mentions"])
    labels = [b["label"] for row in callback.data["components"] for b in row["components"]]
    assert labels == ["Post", "Another", "Cancel"]
    for value in custom_ids(callback):
        assert len(value) <= CUSTOM_ID_LIMIT
        assert f":{fake.default_user_id}:random|" in value


async def test_maxim_34_previews_that_maxim_without_another(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "34"})
    assert callback.ephemeral
    assert callback.data is not None
    [embed] = callback.data["embeds"]
    assert embed["title"] == "#34"
    assert embed["description"] == CORPUS.get(34).text
    assert embed["footer"]["text"] == "nan, learning-rate, debugging"
    assert [v.split(":")[0] for v in custom_ids(callback)] == ["maxim_post", "maxim_cancel"]


async def test_maxim_71_is_a_private_error_that_says_what_works(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "71"})
    assert callback.ephemeral
    assert callback.content == "⚠️ There’s no maxim 71: pick 1–70, or try `/maxim search <word>`."
    assert callback.data is not None and no_pings(callback.data["allowed_mentions"])


async def test_list_and_help_are_private(fake, bot):
    listed = await run_command(fake, client_of(bot), "maxim", {"query": "list"})
    helped = await run_command(fake, client_of(bot), "maxim", {"query": "help"})
    assert listed.ephemeral and helped.ephemeral
    assert listed.data is not None and helped.data is not None
    lines = "\n".join(e["description"] for e in listed.data["embeds"]).splitlines()
    assert len(lines) == 70 and lines[33].startswith("**34.** If you’re seeing NaN")
    assert helped.content is not None and helped.content.startswith("```")
    assert "/maxim search WORDS" in helped.content


async def test_without_preview_a_maxim_is_posted_publicly_at_once(fake, storage, clock):
    settings = settings_for(fake, preview=False)
    async with running(settings, make_service(storage, clock)) as platform:
        answer = await run_command(fake, client_of(platform), "maxim", {"query": "search nan"})
        error = await run_command(fake, client_of(platform), "maxim", {"query": "0"})
    assert answer.type == 4 and not answer.ephemeral
    assert answer.data is not None and answer.data.get("components") in (None, [])
    [embed] = answer.data["embeds"]
    assert maxim_number(embed) in NAN_NUMBERS
    assert "more matches:" in embed["footer"]["text"]
    assert error.ephemeral  # errors stay private


async def test_the_query_grammar_echoes_nothing_that_could_ping(fake, bot):
    callback = await run_command(fake, client_of(bot), "maxim", {"query": "search <@999> @qqqzzz"})
    assert callback.ephemeral and callback.content is not None
    assert callback.content.startswith("🔎 No maxim matches")
    assert "@" not in callback.content
    assert callback.data is not None and no_pings(callback.data["allowed_mentions"])


# ------------------------------------------------------------------------------ /maxim-daily


async def test_maxim_daily_by_a_member_without_manage_channels_is_refused(fake, bot, storage):
    member = fake.add_member(username="member", permissions=VIEW_CHANNEL | SEND_MESSAGES)
    refused = await run_command(
        fake,
        client_of(bot),
        "maxim-daily",
        {"time": "09:00", "zone": "Europe/Berlin"},
        user_id=member.user_id,
    )
    also_refused = await run_command(
        fake, client_of(bot), "maxim", {"query": "daily off"}, user_id=member.user_id
    )
    shown = await run_command(fake, client_of(bot), "maxim-daily", user_id=member.user_id)

    assert refused.ephemeral and refused.content == f"⚠️ {ADMINS_ONLY}"
    assert also_refused.content == f"⚠️ {ADMINS_ONLY}"
    assert shown.ephemeral and shown.content is not None
    assert shown.content.startswith("This channel has no daily post")  # looking is allowed
    assert await storage.list_subscriptions("discord") == []


async def test_maxim_daily_by_an_admin_sets_and_stops_the_daily_post(fake, bot, storage):
    done = await run_command(
        fake,
        client_of(bot),
        "maxim-daily",
        {"time": "09:00", "zone": "Europe/Berlin"},
        member_permissions=MANAGE_CHANNELS | VIEW_CHANNEL,
    )
    assert done.ephemeral and done.content is not None
    assert done.content.startswith("Done: a maxim of the day will be posted here daily at 09:00")
    [sub] = await storage.list_subscriptions("discord")
    assert (sub.channel, sub.workspace, sub.timezone) == (
        str(fake.default_channel_id),
        str(fake.default_guild_id),
        "Europe/Berlin",
    )
    assert sub.set_by == str(fake.default_user_id)

    stopped = await run_command(
        fake, client_of(bot), "maxim", {"query": "daily off"}, member_permissions=ADMINISTRATOR
    )
    assert stopped.content == "Stopped: no more daily posts in this channel."
    assert await storage.list_subscriptions("discord") == []


async def test_in_a_dm_the_asker_may_set_their_own_daily_post(fake, bot, storage):
    dm = fake.add_dm_channel(fake.default_user_id)
    done = await run_command(
        fake, client_of(bot), "maxim-daily", {"time": "07:30"}, channel_id=dm.id
    )
    assert done.content is not None and done.content.startswith("Done:")
    [sub] = await storage.list_subscriptions("discord")
    assert (sub.channel, sub.workspace, sub.timezone) == (str(dm.id), "", "UTC")


async def test_maxim_daily_with_a_bad_time_says_what_works(fake, bot):
    answer = await run_command(fake, client_of(bot), "maxim-daily", {"time": "9am"})
    assert answer.ephemeral and answer.content is not None
    assert "isn’t a time I can read" in answer.content


# -------------------------------------------------------------------------- errors and deadlines


class BrokenDaily:
    """A daily-post port that fails, to reach the error boundary without mocking discord.py."""

    async def handle(self, origin, query, is_admin):
        raise RuntimeError("the database is on fire")

    async def schedule_of(self, origin):
        raise RuntimeError("the database is on fire")


async def test_a_failing_command_apologises_with_a_reference_and_logs_it(
    fake, storage, clock, caplog
):
    service = make_service(storage, clock)
    service.daily = BrokenDaily()
    async with running(settings_for(fake), service) as platform:
        interaction_id = await fake.send_command("maxim", {"query": "today"})
        callback = await fake.wait_for_callback(interaction_id)
        assert platform.client is not None
    assert callback.ephemeral and callback.content is not None
    assert callback.content.startswith("Something went wrong on my side (ref ")
    assert "fire" not in callback.content and "RuntimeError" not in callback.content
    [record] = [r for r in caplog.records if "failed (ref" in r.getMessage()]
    assert record.exc_info is not None  # the traceback is in the log, for us
    assert repr(record.exc_info[1].__cause__) == "RuntimeError('the database is on fire')"
    ref = callback.content.split("(ref ")[1].split(")")[0]
    assert ref in record.getMessage()


class SlowDaily:
    """A daily-post port slower than the acknowledgement deadline."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def handle(self, origin, query, is_admin):
        raise NotImplementedError

    async def schedule_of(self, origin):
        await self.release.wait()
        return None


TIME_LAPSE = 2  # the bot's deadline and Discord's run twice as fast, keeping their ratio


async def test_a_slow_answer_is_deferred_within_discords_3_s_then_followed_up(fake, storage, clock):
    fake.clock = lambda: time.monotonic() * TIME_LAPSE  # the emulator enforces 3 s on this
    service = make_service(storage, clock)
    slow = SlowDaily()
    service.daily = slow
    async with running(settings_for(fake), service) as platform:
        platform.handlers.ack_deadline = ACK_DEADLINE / TIME_LAPSE  # the real one, lapsed
        interaction_id = await fake.send_command("maxim", {"query": "today"})
        deferred = await fake.wait_for_callback(interaction_id)  # a late one is a 404
        slow.release.set()
        [follow_up] = await fake.wait_for_webhook_messages(1, interaction_id=interaction_id)
        at_once = await run_command(fake, client_of(platform), "maxim", {"query": "today"})
    assert fake.interaction_deadline == INTERACTION_DEADLINE
    assert deferred.type == 5 and deferred.ephemeral
    assert at_once.data is not None and follow_up.embeds == at_once.data["embeds"]
    assert [b["label"] for row in follow_up.components for b in row["components"]] == [
        "Post",
        "Another",
        "Cancel",
    ]
