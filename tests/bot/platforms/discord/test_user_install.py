"""`/maxim` through a user install, where the bot is not in the channel.

A user who added the app to their own account runs `/maxim` in a group DM with friends or in
a server without the bot. Discord sends the interaction with ``context`` 2 (or a server the
bot is not in) and only the user install among its ``authorizing_integration_owners``; the
bot cannot send a message there, so every answer, the shared maxim included, goes through
the interaction. The emulator answers the bot's own channel calls there 403, as Discord does,
and records them, so a test can assert that none was even tried.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from bot.platforms.discord.handlers import NOT_A_MEMBER_DAILY, NOT_YOURS_TO_POST
from tests.bot.platforms.discord.helpers import (
    client_of,
    custom_ids,
    make_service,
    no_pings,
    run_command,
    running,
    settings_for,
)
from tests.fakes.discord.api import MESSAGE_FLAG_EPHEMERAL, SEND_MESSAGES, FakeDiscord

CHANNEL_MESSAGES = re.compile(r"^/channels/\d+/messages$")
USER_INSTALL = "1"


def channel_posts(fake: FakeDiscord) -> list[str]:
    """Every ``POST /channels/{id}/messages`` the bot tried, answered or not."""
    return [r.path for r in fake.requests if r.method == "POST" and CHANNEL_MESSAGES.match(r.path)]


@pytest.fixture
async def bot(fake, storage):
    """The bot with its commands synced globally, as a user install needs."""
    async with running(settings_for(fake, guild_ids=[]), make_service(storage)) as platform:
        yield platform


async def post_and_wait(fake: FakeDiscord, preview: Any, **kwargs: Any) -> None:
    """Press Post on `preview` and wait until the bot removed the preview."""
    await fake.send_component(custom_ids(preview)[0], message=preview.message_id, **kwargs)
    await fake.wait_for(
        lambda: fake.get_message(preview.message_id or 0) is None, description="preview deleted"
    )


async def test_maxim_in_a_group_dm_previews_privately_and_posts_through_the_interaction(fake, bot):
    friend = fake.add_user("friend")
    group = fake.add_private_channel(fake.default_user_id, friend.id)
    owners = {USER_INSTALL: str(fake.default_user_id)}
    preview = await run_command(
        fake,
        client_of(bot),
        "maxim",
        {"query": "34"},
        channel_id=group.id,
        context=2,
        authorizing_integration_owners=owners,
    )
    assert preview.type == 4 and preview.ephemeral
    assert preview.data is not None and preview.data["embeds"][0]["title"] == "#34"

    await post_and_wait(fake, preview)
    [shared] = [w for w in fake.webhook_messages if w.action == "create"]
    assert shared.flags & MESSAGE_FLAG_EPHEMERAL == 0  # public, for the whole group
    assert shared.embeds[0]["title"] == "#34"
    assert shared.content == f"shared by <@{fake.default_user_id}>"
    assert no_pings(shared.payload.get("allowed_mentions"))
    stored = fake.get_message(shared.message_id or 0)
    assert stored is not None and int(stored["channel_id"]) == group.id
    assert channel_posts(fake) == []  # nothing went through the channel, not even a try
    assert fake.messages == []


@pytest.mark.parametrize("install", ["user", "server, commands only"])
async def test_in_a_server_without_the_bot_post_goes_through_the_interaction(fake, bot, install):
    elsewhere = fake.add_guild("Elsewhere", with_bot=False)
    channel = elsewhere.text_channels()[0]
    # An install without the bot scope authorises commands, yet the bot is not there.
    owner = ("0", elsewhere.id) if install != "user" else (USER_INSTALL, fake.default_user_id)
    preview = await run_command(
        fake,
        client_of(bot),
        "maxim",
        {"query": "34"},
        channel_id=channel.id,
        authorizing_integration_owners={owner[0]: str(owner[1])},
    )
    await post_and_wait(fake, preview)
    [shared] = [w for w in fake.webhook_messages if w.action == "create"]
    assert shared.flags & MESSAGE_FLAG_EPHEMERAL == 0 and shared.embeds[0]["title"] == "#34"
    assert channel_posts(fake) == []


async def test_in_a_server_without_the_bot_a_member_who_cannot_write_is_still_refused(fake, bot):
    elsewhere = fake.add_guild("Elsewhere", with_bot=False)
    channel = elsewhere.text_channels()[0]
    reader = fake.add_member(elsewhere.id, username="reader")
    muted = {"id": str(reader.user_id), "type": 1, "allow": "0", "deny": str(SEND_MESSAGES)}
    channel.overwrites.append(muted)
    preview = await run_command(
        fake,
        client_of(bot),
        "maxim",
        {"query": "34"},
        channel_id=channel.id,
        user_id=reader.user_id,
    )
    interaction_id = await fake.send_component(
        custom_ids(preview)[0], message=preview.message_id, user_id=reader.user_id
    )
    refused = await fake.wait_for_callback(interaction_id)
    assert refused.ephemeral and refused.content == NOT_YOURS_TO_POST
    assert fake.webhook_messages == [] and channel_posts(fake) == []


async def test_in_a_dm_with_the_bot_reached_by_a_user_install_alone_post_uses_the_interaction(
    fake, bot
):
    own = fake.add_dm_channel(fake.default_user_id)
    preview = await run_command(
        fake,
        client_of(bot),
        "maxim",
        {"query": "34"},
        channel_id=own.id,
        authorizing_integration_owners={USER_INSTALL: str(fake.default_user_id)},
    )
    await post_and_wait(fake, preview)
    [shared] = [w for w in fake.webhook_messages if w.action == "create"]
    assert shared.embeds[0]["title"] == "#34"
    assert channel_posts(fake) == []


async def test_a_daily_post_cannot_be_set_where_the_bot_is_not(fake, bot, storage):
    group = fake.add_private_channel(fake.default_user_id, fake.add_user("friend").id)
    answer = await run_command(
        fake, client_of(bot), "maxim", {"query": "daily 09:00 Europe/Berlin"}, channel_id=group.id
    )
    assert answer.ephemeral and answer.content == NOT_A_MEMBER_DAILY
    assert await storage.list_subscriptions() == []
    with pytest.raises(LookupError, match="would not offer /maxim-daily"):
        await fake.send_command("maxim-daily", {"time": "09:00"}, channel_id=group.id)


async def test_without_previews_the_answer_itself_is_the_public_interaction_response(fake, storage):
    group = fake.add_private_channel(fake.default_user_id, fake.add_user("friend").id)
    settings = settings_for(fake, guild_ids=[], preview=False)
    async with running(settings, make_service(storage)) as platform:
        answer = await run_command(
            fake, client_of(platform), "maxim", {"query": "34"}, channel_id=group.id
        )
    assert answer.type == 4 and not answer.ephemeral
    assert answer.data is not None and answer.data["embeds"][0]["title"] == "#34"
    assert channel_posts(fake) == []
