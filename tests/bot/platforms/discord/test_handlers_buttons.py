"""The preview's Post / Another / Cancel buttons, pressed through the loopback Discord.

Only the asker may press them, Post only where the presser may write themselves, and a press
keeps working after a restart. What the bot does comes back as recorded REST calls.
"""

from __future__ import annotations

import re
from typing import Any

from bot.platforms.discord.client import MAX_RATE_LIMIT_WAIT
from bot.platforms.discord.handlers import (
    NOT_YOUR_DM,
    NOT_YOURS,
    NOT_YOURS_TO_POST,
    SLOW_DOWN,
)
from bot.preview import ACTION_POST, STALE_PREVIEW
from tests.bot.platforms.discord.helpers import (
    NAN_NUMBERS,
    client_of,
    custom_ids,
    make_service,
    maxim_number,
    run_command,
    running,
    settings_for,
)
from tests.fakes.discord.api import (
    MESSAGE_FLAG_EPHEMERAL,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    FakeDiscord,
)


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


LONG_LIMIT = MAX_RATE_LIMIT_WAIT + 540  # discord.py would sleep it out without the bot's cap
MESSAGES = re.compile(r"^/channels/\d+/messages$")


async def test_post_during_a_long_rate_limit_says_so_privately_at_once(fake, bot):
    preview = await run_command(fake, client_of(bot), "maxim", {"query": "34"})
    fake.rate_limit_next("POST", MESSAGES, retry_after=LONG_LIMIT)
    await press(fake, custom_ids(preview)[0])
    [note] = await fake.wait_for_webhook_messages(1)
    assert note.flags & MESSAGE_FLAG_EPHEMERAL and note.content == SLOW_DOWN
    assert fake.messages == []
