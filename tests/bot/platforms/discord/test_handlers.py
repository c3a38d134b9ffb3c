"""What the bot does for each message, `/maxim`, `/maxim-daily` and preview button.

The real discord.py client runs against the loopback Discord: messages, slash commands and
button presses go through the emulator's gateway as Discord sends them; what the bot does comes
back as recorded REST calls. Storage is real SQLite, the corpus is the real one. No sleeps: tests
wait for a recording, for discord.py's own events, or for our ``on_message`` to be done with a
message (`HandledMessages`).
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from bot.chat import ACK_DEADLINE
from bot.daily.commands import ADMINS_ONLY
from bot.platforms.discord.client import MAX_RATE_LIMIT_WAIT
from bot.platforms.discord.handlers import (
    NOT_YOUR_DM,
    NOT_YOURS,
    NOT_YOURS_TO_POST,
    SLOW_DOWN,
)
from bot.platforms.discord.render import CUSTOM_ID_LIMIT
from bot.preview import ACTION_POST, STALE_PREVIEW
from maxims import load_corpus
from tests.bot.platforms.discord.helpers import (
    NAN_NUMBERS,
    HandledMessages,
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
    MESSAGE_FLAG_EPHEMERAL,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    VIEW_CHANNEL,
    FakeDiscord,
)

CORPUS = load_corpus()
MANAGE_CHANNELS = 1 << 4


# ------------------------------------------------------------------------------ NaN messages


async def test_a_nan_message_gets_one_reply_and_a_second_inside_the_cooldown_none(fake, bot):
    handled = HandledMessages(client_of(bot))
    first = await fake.send_message(content="my loss is NaN after epoch 3")
    [reply] = await fake.wait_for_messages(1)
    second = await fake.send_message(content="still NaN, help")
    await handled.wait(first, second)

    assert len(fake.messages) == 1
    assert reply.channel_id == fake.default_channel_id
    assert reply.message_reference is not None
    assert int(reply.message_reference["message_id"]) == first
    assert reply.message_reference["fail_if_not_exists"] is False
    assert maxim_number(reply.embeds[0]) in NAN_NUMBERS
    assert reply.embeds[0]["footer"]["text"].startswith("nan")
    assert reply.allowed_mentions == {"parse": [], "replied_user": False}  # no ping at all
    assert fake.reactions == []  # none configured


async def test_the_cooldown_ends_and_the_next_nan_is_answered(fake, bot, clock):
    await fake.send_message(content="loss is NaN")
    await fake.wait_for_messages(1)
    clock.advance(seconds=601)
    await fake.send_message(content="NaN again")
    second, first = (await fake.wait_for_messages(2))[::-1]
    assert maxim_number(second.embeds[0]) != maxim_number(first.embeds[0])  # not the same twice


async def test_without_a_cooldown_every_nan_is_answered(fake, storage, clock):
    service = make_service(storage, clock, cooldown=0)
    async with running(settings_for(fake), service):
        for text in ("loss is NaN", "NaN again", "and NaN"):
            await fake.send_message(content=text)
        await fake.wait_for_messages(3)


async def test_a_cooldown_taken_by_another_process_is_respected(fake, bot, storage, clock):
    await storage.take_cooldown(
        "discord", str(fake.default_channel_id), "nan", now=clock(), seconds=600
    )
    handled = HandledMessages(client_of(bot))
    first = await fake.send_message(content="loss is NaN")
    await handled.wait(first)
    clock.advance(seconds=601)
    await fake.send_message(content="NaN after the cooldown")
    [reply] = await fake.wait_for_messages(1)
    assert maxim_number(reply.embeds[0]) in NAN_NUMBERS


async def test_messages_from_bots_webhooks_and_plain_chat_get_no_reply(fake, bot):
    handled = HandledMessages(client_of(bot))
    ids = [
        await fake.send_message(content="loss is NaN", bot=True),
        await fake.send_message(content="loss is NaN", webhook_id=fake.snowflake()),
        await fake.send_message(content="my nan is visiting, and banana bread"),
    ]
    await handled.wait(*ids)
    assert fake.messages == []


async def test_our_own_answer_does_not_trigger_us(fake, bot, clock):
    handled = HandledMessages(client_of(bot))
    await fake.send_message(content="NaN everywhere")
    [reply] = await fake.wait_for_messages(1)
    clock.advance(hours=1)  # no cooldown protects us now: only "ignore bots" does
    await handled.wait(reply.id)  # Discord echoes our reply, which mentions NaN
    assert len(fake.messages) == 1


async def test_a_configured_reaction_goes_on_the_nan_message(fake, storage, clock):
    settings = settings_for(fake, reaction="🤔")
    async with running(settings, make_service(storage, clock)):
        message_id = await fake.send_message(content="loss=nan")
        [reaction] = await fake.wait_for_reactions(1)
    assert (reaction.message_id, reaction.emoji) == (message_id, "🤔")


async def test_a_channel_the_bot_may_not_post_in_is_logged_not_raised(fake, bot, caplog):
    handled = HandledMessages(client_of(bot))
    fake.deny_channel(fake.default_channel_id)
    message_id = await fake.send_message(content="loss is NaN")
    await handled.wait(message_id)
    assert fake.messages == []
    assert "cannot answer in discord channel" in caplog.text
    assert "Traceback" not in caplog.text


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


# ------------------------------------------------------------------------------ buttons


async def press(fake: FakeDiscord, custom: str, **kwargs: Any):
    interaction_id = await fake.send_component(custom, **kwargs)
    return await fake.wait_for_callback(interaction_id)


async def test_post_shares_the_maxim_publicly_and_removes_the_preview(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim", {"query": "34"})
    post_id = custom_ids(preview)[0]
    pressed = await press(fake, post_id)
    [shared] = await fake.wait_for_messages(1)
    await fake.wait_for(
        lambda: any(w.action == "delete" for w in fake.webhook_messages), description="deleted"
    )

    assert pressed.type == 6  # acknowledged quietly, then the preview goes
    assert shared.channel_id == fake.default_channel_id
    assert shared.content == f"shared by <@{fake.default_user_id}>"
    assert shared.embeds[0]["title"] == "#34"
    assert shared.allowed_mentions == {"parse": []}  # the name shows, nobody is pinged
    assert shared.flags & MESSAGE_FLAG_EPHEMERAL == 0
    assert fake.get_message(preview.message_id or 0) is None  # the preview is gone


async def test_another_shows_the_next_search_result_in_the_same_preview(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim", {"query": "search nan"})
    assert preview.data is not None
    first = maxim_number(preview.data["embeds"][0])
    assert "result 1 of 3 for “nan”" in preview.data["embeds"][0]["footer"]["text"]

    again = await press(fake, custom_ids(preview)[1])
    assert again.type == 7 and again.message_id == preview.message_id
    assert again.data is not None
    second = maxim_number(again.data["embeds"][0])
    assert {first, second} <= NAN_NUMBERS and first != second
    assert "result 2 of 3" in again.data["embeds"][0]["footer"]["text"]
    assert ":search|" in custom_ids(again)[1] and "|1|nan" in custom_ids(again)[1]

    third = await press(fake, custom_ids(again)[1])  # buttons of the edited preview work too
    assert third.data is not None
    assert maxim_number(third.data["embeds"][0]) not in {first, second}


async def test_another_on_a_random_maxim_gives_a_different_one(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim")
    assert preview.data is not None
    again = await press(fake, custom_ids(preview)[1])
    assert again.type == 7 and again.data is not None
    assert maxim_number(again.data["embeds"][0]) != maxim_number(preview.data["embeds"][0])


async def test_cancel_removes_the_preview_and_posts_nothing(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim", {"query": "today"})
    cancel = await press(fake, custom_ids(preview)[-1])
    await fake.wait_for(
        lambda: fake.get_message(preview.message_id or 0) is None, description="preview deleted"
    )
    assert cancel.type == 6
    assert fake.messages == []


async def test_only_the_asker_may_press_the_buttons(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim", {"query": "34"})
    stranger = fake.add_member(username="stranger")
    refused = await press(fake, custom_ids(preview)[0], user_id=stranger.user_id)
    assert refused.type == 4 and refused.ephemeral
    assert refused.content == NOT_YOURS
    assert fake.messages == []
    assert custom_ids(fake.get_message(preview.message_id or 0)) == custom_ids(preview)  # it stays


async def test_a_stale_button_answers_politely(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim", {"query": "34"})
    message = fake.get_message(preview.message_id or 0)
    assert message is not None
    stale = f"{ACTION_POST}:{fake.default_user_id}:number|99|0|"  # no maxim 99 (any more)
    garbled = "maxim_shuffle:whatever"
    buttons = message["components"][0]["components"]
    buttons[0]["custom_id"], buttons[1]["custom_id"] = stale, garbled
    for custom in (stale, garbled):
        answer = await press(fake, custom, message=message)
        assert answer.type == 4 and answer.ephemeral
        assert answer.content == STALE_PREVIEW
    assert fake.messages == []


async def test_buttons_survive_a_restart(fake, storage, clock):
    settings = settings_for(fake)
    async with running(settings, make_service(storage, clock)) as first:
        preview = await run_command(fake, client_of(first), "maxim", {"query": "34"})
    async with running(settings, make_service(storage, clock)):
        await press(fake, custom_ids(preview)[0])
        [shared] = await fake.wait_for_messages(1)
    assert shared.embeds[0]["title"] == "#34"


async def test_post_where_the_bot_may_not_post_says_so_privately(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim", {"query": "34"})
    fake.deny_channel(fake.default_channel_id)
    await press(fake, custom_ids(preview)[0])
    [note] = await fake.wait_for_webhook_messages(1)
    assert note.flags & MESSAGE_FLAG_EPHEMERAL
    assert note.content is not None and note.content.startswith("I can’t post in this channel")
    assert fake.messages == []


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
    assert shown.content.startswith("This channel has no daily maxim")  # looking is allowed
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
    assert stopped.content == "Stopped: no more daily maxims in this channel."
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

    async def timezone_of(self, origin):
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


class BrokenStorage:
    """A storage port that fails, to reach discord.py's event error boundary."""

    async def first_delivery(self, platform, event_id, *, now):
        raise RuntimeError("the disk is full")


async def test_a_failing_message_handler_is_logged_with_a_reference(fake, storage, clock, caplog):
    service = make_service(storage, clock)
    async with running(settings_for(fake), service) as platform:
        service.storage = BrokenStorage()  # after start: the command sync used the real one
        handled = HandledMessages(client_of(platform))
        message_id = await fake.send_message(content="loss is NaN")
        await handled.wait(message_id)
        again = await fake.send_message(content="loss is NaN, again")  # the gate is not stuck
        await handled.wait(again)
    assert fake.messages == []
    assert caplog.text.count("discord on_message failed (ref ") == 2
    failures = [r for r in caplog.records if "on_message failed" in r.getMessage()]
    assert [r.exc_info[0] if r.exc_info else None for r in failures] == [RuntimeError] * 2


class SlowDaily:
    """A daily-post port slower than the acknowledgement deadline."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def handle(self, origin, query, is_admin):
        raise NotImplementedError

    async def timezone_of(self, origin):
        await self.release.wait()
        return None


TIME_LAPSE = 10  # the bot's deadline and Discord's run 10x faster, keeping their ratio


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


# ------------------------------------------------------------------------------ who may post


async def test_post_by_a_member_who_cannot_write_there_is_refused_privately(fake, bot):
    reader = fake.add_member(username="reader")  # may write in the server, but not here:
    muted = {"id": str(reader.user_id), "type": 1, "allow": "0", "deny": str(SEND_MESSAGES)}
    fake.channels[fake.default_channel_id].overwrites.append(muted)
    command = await run_command(
        fake, client_of(bot), "maxim", {"query": "34"}, user_id=reader.user_id
    )
    refused = await press(fake, custom_ids(command)[0], user_id=reader.user_id)
    assert refused.type == 4 and refused.ephemeral
    assert refused.content == NOT_YOURS_TO_POST
    assert fake.messages == []
    assert custom_ids(fake.get_message(command.message_id or 0)) == custom_ids(command)


async def test_post_in_a_dm_works_only_in_the_pressers_own_dm(fake, bot):
    own = fake.add_dm_channel(fake.default_user_id)
    other = fake.add_dm_channel(fake.add_member(username="friend").user_id)
    mine = await run_command(fake, client_of(bot), "maxim", {"query": "34"}, channel_id=own.id)
    theirs = await run_command(fake, client_of(bot), "maxim", {"query": "34"}, channel_id=other.id)

    refused = await press(fake, custom_ids(theirs)[0], message=theirs.message_id)
    assert refused.ephemeral and refused.content == NOT_YOUR_DM
    await press(fake, custom_ids(mine)[0], message=mine.message_id)
    [shared] = await fake.wait_for_messages(1)
    assert shared.channel_id == own.id


# ------------------------------------------------------------------------------ rate limits

LONG_LIMIT = MAX_RATE_LIMIT_WAIT + 540  # discord.py would sleep it out without the bot's cap
MESSAGES = re.compile(r"^/channels/\d+/messages$")


async def test_post_during_a_long_rate_limit_says_so_privately_at_once(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim", {"query": "34"})
    fake.rate_limit_next("POST", MESSAGES, retry_after=LONG_LIMIT)
    await press(fake, custom_ids(preview)[0])
    [note] = await fake.wait_for_webhook_messages(1)
    assert note.flags & MESSAGE_FLAG_EPHEMERAL and note.content == SLOW_DOWN
    assert fake.messages == []


async def test_a_nan_answer_during_a_long_rate_limit_is_dropped_with_a_warning(fake, bot, caplog):
    handled = HandledMessages(client_of(bot))
    fake.rate_limit_next("POST", MESSAGES, retry_after=LONG_LIMIT)
    message_id = await fake.send_message(content="loss is NaN")
    await handled.wait(message_id)
    assert fake.messages == []
    assert f"rate-limited for {LONG_LIMIT:.0f} s in {fake.default_channel_id}" in caplog.text
    assert "Traceback" not in caplog.text


async def test_in_a_thread_send_messages_in_threads_is_what_counts(fake, bot):
    thread = fake.add_thread(fake.default_channel_id)
    talker = fake.add_member(username="talker")  # may write in the channel, not in threads
    quiet = fake.add_member(username="quiet")  # may write in threads, not in the channel
    fake.channels[fake.default_channel_id].overwrites += [
        {"id": str(talker.user_id), "type": 1, "allow": "0", "deny": str(SEND_MESSAGES_IN_THREADS)},
        {"id": str(quiet.user_id), "type": 1, "allow": "0", "deny": str(SEND_MESSAGES)},
    ]
    previews = {
        member.user_id: await run_command(
            fake,
            client_of(bot),
            "maxim",
            {"query": "34"},
            user_id=member.user_id,
            channel_id=thread.id,
        )
        for member in (talker, quiet)
    }
    pressed = {
        user: await press(fake, custom_ids(p)[0], user_id=user, message=p.message_id)
        for user, p in previews.items()
    }
    [shared] = await fake.wait_for_messages(1)
    assert pressed[talker.user_id].content == NOT_YOURS_TO_POST
    assert (shared.channel_id, shared.content) == (thread.id, f"shared by <@{quiet.user_id}>")
