"""The emulator's user installs: contexts, authorising installs, channels without the bot."""

from __future__ import annotations

import asyncio

import discord
import pytest
from discord import app_commands

from tests.fakes.discord.api import FakeDiscord
from tests.fakes.discord.clients import HARD_TIMEOUT, connected, make_client


async def test_a_group_dm_command_carries_its_context_and_the_bot_cannot_send_there(
    fake: FakeDiscord,
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    seen: asyncio.Future[tuple[bool, bool, str, int]] = asyncio.get_running_loop().create_future()

    @tree.command(name="hello", description="Say hello")
    @app_commands.allowed_installs(users=True)
    @app_commands.allowed_contexts(private_channels=True)
    async def hello(interaction: discord.Interaction) -> None:
        channel = interaction.channel
        assert isinstance(channel, discord.GroupChannel)
        with pytest.raises(discord.Forbidden) as refused:
            await channel.send("hello from the bot")
        await interaction.response.send_message("hello through the interaction")
        seen.set_result(
            (
                interaction.context.private_channel,
                interaction.is_user_integration(),
                type(channel).__name__,
                refused.value.code,
            )
        )

    friend = fake.add_user("friend")
    group = fake.add_private_channel(fake.default_user_id, friend.id, name="pals")
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        interaction_id = await fake.send_command("hello", channel_id=group.id)
        callback = await fake.wait_for_callback(interaction_id)
        assert await seen == (True, True, "GroupChannel", 50001)  # Missing Access
    [attempt] = [r for r in fake.requests if r.path == f"/channels/{group.id}/messages"]
    assert (attempt.method, attempt.status) == ("POST", 403)  # recorded, though refused
    assert fake.messages == []
    answer = fake.get_message(callback.message_id or 0)
    assert answer is not None and int(answer["channel_id"]) == group.id
    metadata = answer["interaction_metadata"]
    assert metadata["authorizing_integration_owners"] == {"1": str(fake.default_user_id)}


async def test_commands_are_offered_only_where_their_contexts_and_installs_allow(
    fake: FakeDiscord,
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="servers", description="Server installs in servers (the defaults)")
    async def servers(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("ok")

    group = fake.add_private_channel(fake.default_user_id, fake.add_user("friend").id)
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        with pytest.raises(LookupError, match="would not offer /servers"):
            await fake.send_command("servers", channel_id=group.id)
        with pytest.raises(LookupError, match=r"installs \['1'\]"):  # a user install, in a server
            await fake.send_command(
                "servers", authorizing_integration_owners={"1": str(fake.default_user_id)}
            )
        assert await fake.send_command("servers") > 0  # the server install, in its server


async def test_a_button_press_keeps_the_context_of_the_command_it_answers(
    fake: FakeDiscord,
) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    pressed: asyncio.Future[tuple[bool, bool]] = asyncio.get_running_loop().create_future()

    class Press(discord.ui.View):
        @discord.ui.button(label="Press", custom_id="press")
        async def press(
            self, interaction: discord.Interaction, _: discord.ui.Button[Press]
        ) -> None:
            pressed.set_result((interaction.context.dm_channel, interaction.is_user_integration()))
            await interaction.response.defer()

    @tree.command(name="panel", description="A button")
    @app_commands.allowed_installs(users=True)
    @app_commands.allowed_contexts(dms=True)
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("press it", view=Press(), ephemeral=True)

    own = fake.add_dm_channel(fake.default_user_id)  # a DM with the bot, by default server-
    user_install_only = {"1": str(fake.default_user_id)}  # installed: here a user install alone
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        completed = client.wait_for("app_command_completion", timeout=HARD_TIMEOUT)
        await fake.send_command(
            "panel", channel_id=own.id, authorizing_integration_owners=user_install_only
        )
        await completed
        await fake.send_component("press")
        assert await pressed == (True, True)
