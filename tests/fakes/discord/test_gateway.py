"""The emulator's gateway, driven by a real discord.Client: READY, intents, close codes, RESUME."""

from __future__ import annotations

import asyncio

import discord
import pytest

from tests.fakes.discord.api import FakeDiscord
from tests.fakes.discord.clients import (
    HARD_TIMEOUT,
    Inbox,
    connected,
    make_client,
    on_event,
)
from tests.fakes.discord.gateway_wire import INTENT_MESSAGE_CONTENT


async def test_ready_then_on_message_sees_dispatched_message(fake: FakeDiscord) -> None:
    client = make_client()
    inbox = Inbox(client)
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        assert client.user is not None and client.user.id == fake.bot_id
        guild = client.get_guild(fake.default_guild_id)
        assert guild is not None and guild.me is not None
        assert fake.identify_payloads[-1]["intents"] == client.intents.value
        conn = fake.gateway_connections[0]
        assert conn.query["v"] == "10" and conn.query["encoding"] == "json"
        # discord.py 2.7 asks for zlib-stream (zstd-stream when a zstd module is importable).
        assert conn.compress == discord.utils._ActiveDecompressionContext.COMPRESSION_TYPE

        message_id = await fake.send_message(fake.default_channel_id, "hello maxims")
        message = await inbox.next()
        assert message.id == message_id
        assert message.content == "hello maxims"
        assert isinstance(message.author, discord.Member)
        assert message.author.id == fake.default_user_id
        assert message.guild == guild and message.channel.id == fake.default_channel_id


async def test_content_is_stripped_without_message_content_intent(fake: FakeDiscord) -> None:
    client = make_client(message_content=False)
    inbox = Inbox(client)
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        assert not fake.identify_payloads[-1]["intents"] & INTENT_MESSAGE_CONTENT
        await fake.send_message(content="secret words")
        assert (await inbox.next()).content == ""
        await fake.send_message(content=f"<@{fake.bot_id}> maxim please")
        mentioned = await inbox.next()
        assert mentioned.content == f"<@{fake.bot_id}> maxim please"
        assert client.user in mentioned.mentions


async def test_heartbeats_are_acknowledged(fake: FakeDiscord) -> None:
    fake.heartbeat_interval_ms = 20
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await fake.wait_for(lambda: fake.heartbeat_count >= 3, description="3 heartbeats")
        assert client.latency != float("inf")


async def test_gateway_rejects_bad_token_with_4004(fake: FakeDiscord) -> None:
    client = make_client()
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            await client.login(fake.token)
            fake.token = "rotated-token"  # the IDENTIFY now carries a stale token
            with pytest.raises(discord.ConnectionClosed) as excinfo:
                await client.connect(reconnect=True)
        assert excinfo.value.code == 4004
    finally:
        await client.close()
    assert fake.gateway_connections[-1].close_code == 4004


async def test_disallowed_privileged_intent_raises_privileged_intents_required() -> None:
    async with FakeDiscord(allow_message_content=False) as fake, fake.patch_discord():
        client = make_client(message_content=True)
        try:
            async with asyncio.timeout(HARD_TIMEOUT):
                await client.login(fake.token)
                with pytest.raises(discord.PrivilegedIntentsRequired):
                    await client.connect(reconnect=True)
        finally:
            await client.close()
        assert fake.gateway_connections[-1].close_code == 4014


async def test_reconnect_opcode_leads_to_resume_at_resume_gateway_url(fake: FakeDiscord) -> None:
    client = make_client()
    inbox = Inbox(client)
    resumed = asyncio.Event()
    client.event(on_event("on_resumed", resumed))
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        assert await fake.send_reconnect() == 1
        await fake.wait_resumed(count=1)
        await asyncio.wait_for(resumed.wait(), HARD_TIMEOUT)
        assert fake.resume_count == 1 and fake.identify_count == 1
        assert fake.gateway_connections[-1].path == "/gateway/resume"
        assert fake.gateway_connections[-1].resumed

        message_id = await fake.send_message(content="still here")
        assert (await inbox.next()).id == message_id


@pytest.mark.parametrize("code", [4000, None], ids=["close-4000", "abort-1006"])
async def test_dropped_connection_resumes_and_replays_missed_events(
    fake: FakeDiscord, code: int | None
) -> None:
    client = make_client()
    inbox = Inbox(client)
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await fake.drop_connection(code)
        # Dispatched while the client is away: must be replayed after RESUME.
        missed = await fake.send_message(content="sent while disconnected")
        await fake.wait_resumed(count=1)
        assert (await inbox.next()).id == missed
        after = await fake.send_message(content="after resume")
        assert (await inbox.next()).id == after
        assert inbox.queue.empty()
        assert fake.identify_count == 1 and fake.resume_count == 1


async def test_flood_delivers_every_message_in_order_and_strips_content_by_intent(
    fake: FakeDiscord,
) -> None:
    client = make_client(message_content=False)
    inbox = Inbox(client)
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        contents = ["loss is NaN", "morning all"] * 50
        ids = await fake.flood_messages(contents)
        received = [await inbox.next() for _ in contents]
        assert [m.id for m in received] == ids
        assert {m.content for m in received} == {""}  # no message-content intent
        assert all(m.author.id == fake.default_user_id for m in received)
        follow_up = await fake.send_message(content="after the flood")  # sequence numbers go on
        assert (await inbox.next()).id == follow_up
        assert fake.messages == [] and (fake.identify_count, fake.resume_count) == (1, 0)

    full = make_client()
    inbox = Inbox(full)
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, full):
        await fake.flood_messages(["loss is NaN"])
        assert (await inbox.next()).content == "loss is NaN"
