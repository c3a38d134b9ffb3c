"""The emulator's files (tests/fakes/discord/uploads.py), driven by real discord.py.

A card goes out as ``discord.File(..., description=alt text)`` shown by an embed image
``attachment://maxim-34.png``, in a channel message and in an (ephemeral) interaction answer.
These tests check the bytes and the alt text that arrive, what discord.py parses back
(``Message.attachments``), and Discord's refusals: 403 without Attach Files, 413 above the
size limit.
"""

from __future__ import annotations

import asyncio
import io
from typing import Any

import discord
import pytest
from discord import app_commands

from tests.fakes.discord.api import FakeDiscord
from tests.fakes.discord.clients import HARD_TIMEOUT, connected, make_client
from tests.fakes.discord.wire import ATTACH_FILES
from tests.fakes.images import ALT, CARD, png


def card() -> dict[str, Any]:
    """The keyword arguments of a card message: the file and the embed that shows it."""
    embed = discord.Embed(title="Maxim 34").set_image(url="attachment://maxim-34.png")
    file = discord.File(io.BytesIO(CARD), filename="maxim-34.png", description=ALT)
    return {"file": file, "embed": embed}


# ------------------------------------------------------------------------------ channel messages


async def test_a_card_in_a_channel_arrives_byte_for_byte_with_its_alt_text(
    fake: FakeDiscord,
) -> None:
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send(**card())

        [recorded] = fake.messages
        [attachment] = recorded.attachments
        assert attachment.data == CARD
        assert (attachment.filename, attachment.description) == ("maxim-34.png", ALT)
        assert attachment.content_type == "image/png"
        assert recorded.embeds[0]["image"]["url"] == "attachment://maxim-34.png"
        [parsed] = sent.attachments  # what discord.py made of the answer
        assert (parsed.id, parsed.filename, parsed.description) == (
            attachment.id,
            "maxim-34.png",
            ALT,
        )
        assert (parsed.size, parsed.content_type) == (len(CARD), "image/png")
        assert (parsed.width, parsed.height) == (1200, 630)
        assert await parsed.read() == CARD  # the url serves the bytes
        stored = fake.get_message(sent.id)
        assert stored is not None and stored["attachments"][0]["id"] == str(parsed.id)


async def test_a_message_may_carry_only_files(fake: FakeDiscord) -> None:
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        first = discord.File(io.BytesIO(CARD), filename="maxim-34.png")
        second = discord.File(io.BytesIO(b"plain"), filename="maxim-34.txt")
        sent = await channel.send(files=[first, second])

    assert [a.filename for a in sent.attachments] == ["maxim-34.png", "maxim-34.txt"]
    assert [a.data for a in fake.messages[0].attachments] == [CARD, b"plain"]
    assert sent.attachments[1].content_type == "text/plain"
    assert sent.attachments[0].description is None


async def test_a_channel_without_attach_files_refuses_files_but_takes_text(
    fake: FakeDiscord,
) -> None:
    fake.deny_attach_files(fake.default_channel_id)
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.Forbidden) as refused:
            await channel.send(**card())
        await channel.send("Maxim 34: If you’re seeing NaN, …")
        perms = fake.permissions_for(fake.default_guild_id, fake.bot_id, fake.default_channel_id)
        fake.allow_attach_files(fake.default_channel_id)
        await channel.send(**card())

    assert (refused.value.status, refused.value.code) == (403, 50013)
    assert refused.value.text == "Missing Permissions"
    text_only, with_card = fake.messages
    assert text_only.attachments == [] and len(fake.attachments) == 1
    assert with_card.attachments[0].data == CARD
    assert not perms & ATTACH_FILES


async def test_a_body_over_the_limit_is_413_request_entity_too_large(fake: FakeDiscord) -> None:
    fake.max_request_bytes = len(CARD)  # the whole body counts, not just the file
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send(**card())
        fake.max_request_bytes = len(CARD) + 2000
        await channel.send(**card())

    assert (refused.value.status, refused.value.code) == (413, 40005)
    assert [len(m.attachments) for m in fake.messages] == [1]


async def test_an_alt_text_over_1024_characters_is_invalid_form_body(fake: FakeDiscord) -> None:
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        file = discord.File(io.BytesIO(CARD), filename="maxim-34.png", description="x" * 1025)
        with pytest.raises(discord.HTTPException) as refused:
            await channel.send(file=file)

    assert (refused.value.status, refused.value.code) == (400, 50035)
    assert "attachments.0.description" in str(refused.value)


# ------------------------------------------------------------------------------ interactions


async def test_an_ephemeral_card_preview_carries_the_file(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="maxim", description="A maxim")
    async def maxim(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(**card(), ephemeral=True)

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        interaction_id = await fake.send_command("maxim")
        callback = await fake.wait_for_callback(interaction_id)

    assert callback.ephemeral
    [attachment] = callback.attachments
    assert (attachment.data, attachment.description) == (CARD, ALT)
    assert callback.data is not None
    assert callback.data["embeds"][0]["image"]["url"] == "attachment://maxim-34.png"
    original = fake.original_response(interaction_id)
    assert original is not None
    [shown] = original["attachments"]
    assert (shown["filename"], shown["description"], shown["ephemeral"]) == (
        "maxim-34.png",
        ALT,
        True,
    )


async def test_followups_and_edits_carry_files_and_edits_replace_them(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    messages: list[discord.Message] = []

    @tree.command(name="maxim", description="A maxim")
    async def maxim(interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        followup = await interaction.followup.send(**card(), wait=True)
        shuffled = discord.File(io.BytesIO(png(600, 315)), filename="maxim-12.png")
        edited = await interaction.edit_original_response(
            content="Maxim 12", attachments=[shuffled]
        )
        messages.extend([followup, edited])

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        interaction_id = await fake.send_command("maxim")
        await fake.wait_for_webhook_messages(2, interaction_id=interaction_id)

    created, edit = fake.webhook_messages
    assert (created.action, edit.action, edit.original) == ("create", "edit", True)
    assert created.attachments[0].data == CARD
    assert edit.attachments[0].data == png(600, 315)
    followup, edited = messages
    assert followup.attachments[0].description == ALT
    assert [(a.filename, a.width) for a in edited.attachments] == [("maxim-12.png", 600)]
    original = fake.original_response(interaction_id)
    assert original is not None and original["content"] == "Maxim 12"


async def test_an_edit_without_attachments_keeps_the_files(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)

    @tree.command(name="maxim", description="A maxim")
    async def maxim(interaction: discord.Interaction) -> None:
        await interaction.response.send_message(**card())
        await interaction.edit_original_response(content="Maxim 34, shared")

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        interaction_id = await fake.send_command("maxim")
        await fake.wait_for_webhook_messages(interaction_id=interaction_id)

    original = fake.original_response(interaction_id)
    assert original is not None
    assert [a["filename"] for a in original["attachments"]] == ["maxim-34.png"]


async def test_interaction_answers_with_files_tell_the_bot_it_lacks_attach_files(
    fake: FakeDiscord,
) -> None:
    fake.deny_attach_files(fake.default_channel_id)
    client = make_client()
    tree = app_commands.CommandTree(client)
    seen: list[bool] = []

    @tree.command(name="maxim", description="A maxim")
    async def maxim(interaction: discord.Interaction) -> None:
        seen.append(interaction.app_permissions.attach_files)
        await interaction.response.send_message(**card())

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        interaction_id = await fake.send_command("maxim")
        callback = await fake.wait_for_callback(interaction_id)

    assert seen == [False]  # the bot can know before it tries...
    assert callback.attachments[0].data == CARD  # ...and the webhook answer is not refused


async def test_an_interaction_answer_over_the_limit_is_413(fake: FakeDiscord) -> None:
    fake.max_request_bytes = len(CARD)
    client = make_client()
    tree = app_commands.CommandTree(client)
    failures: list[discord.HTTPException] = []

    @tree.command(name="maxim", description="A maxim")
    async def maxim(interaction: discord.Interaction) -> None:
        try:
            await interaction.response.send_message(**card(), ephemeral=True)
        except discord.HTTPException as error:
            failures.append(error)
            await interaction.response.send_message("Maxim 34: …", ephemeral=True)

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        interaction_id = await fake.send_command("maxim")
        callback = await fake.wait_for_callback(interaction_id)

    [failure] = failures
    assert (failure.status, failure.code) == (413, 40005)
    assert callback.content == "Maxim 34: …" and callback.attachments == []
