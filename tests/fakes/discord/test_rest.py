"""The emulator's REST API, driven by a real discord.Client: auth, JSON, recordings, 429s."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import discord
import pytest
import yarl

from tests.fakes.discord.api import FakeDiscord
from tests.fakes.discord.clients import (
    HARD_TIMEOUT,
    Inbox,
    connected,
    make_client,
    params,
)


def patched_globals() -> tuple[str, yarl.URL]:
    return discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY


async def test_patch_discord_sets_and_restores_globals() -> None:
    before = patched_globals()
    async with FakeDiscord() as fake:
        expected = (fake.api_base, yarl.URL(fake.gateway_url))
        with fake.patch_discord():
            assert patched_globals() == expected
            assert fake.api_base.startswith("http://127.0.0.1:")
            assert fake.api_base.endswith("/api/v10")
        assert patched_globals() == before
        async with fake.patch_discord():  # also usable in `async with` chains
            assert patched_globals() == expected
    assert patched_globals() == before


async def test_rest_answers_exact_json_content_type_and_checks_auth(fake: FakeDiscord) -> None:
    async with asyncio.timeout(HARD_TIMEOUT), aiohttp.ClientSession() as http:
        ok = await http.get(
            f"{fake.api_base}/users/@me", headers={"Authorization": "Bot test-token"}
        )
        assert ok.status == 200
        assert ok.headers["Content-Type"] == "application/json"
        assert (await ok.json())["id"] == str(fake.bot_id)

        denied = await http.get(f"{fake.api_base}/users/@me", headers={"Authorization": "Bot nope"})
        assert denied.status == 401
        assert await denied.json() == {"message": "401: Unauthorized", "code": 0}

        gateway = await http.get(
            f"{fake.api_base}/gateway/bot", headers={"Authorization": "Bot test-token"}
        )
        assert (await gateway.json())["url"] == fake.gateway_url
    assert [r.status for r in fake.requests] == [200, 401, 200]


async def test_waiter_timeout_reports_what_was_recorded(fake: FakeDiscord) -> None:
    with pytest.raises(AssertionError, match=r"1 channel message\(s\)(.|\n)*messages \(0\)"):
        await fake.wait_for_messages(1, timeout=0.05)


async def test_login_with_bad_token_raises_login_failure(fake: FakeDiscord) -> None:
    client = make_client()
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            with pytest.raises(discord.LoginFailure):
                await client.login("not-the-token")
    finally:
        await client.close()
    assert fake.requests[-1].status == 401


async def test_channel_send_is_recorded_with_allowed_mentions_and_echoed(fake: FakeDiscord) -> None:
    client = make_client()
    inbox = Inbox(client)
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        sent = await channel.send(
            f"<@{fake.default_user_id}> read maxim 7",
            allowed_mentions=discord.AllowedMentions(everyone=False, users=False, roles=False),
        )
        [recorded] = await fake.wait_for_messages(1)
        assert recorded.id == sent.id
        assert recorded.channel_id == fake.default_channel_id
        assert recorded.content == f"<@{fake.default_user_id}> read maxim 7"
        assert recorded.allowed_mentions == {"parse": [], "replied_user": True}
        assert sent.mentions == []  # nobody pinged, as requested

        echo = await inbox.next()  # Discord echoes the bot's own message
        assert echo.id == sent.id and echo.author == client.user

        await sent.add_reaction("\N{THUMBS UP SIGN}")
        [reaction] = await fake.wait_for_reactions(1)
        assert (reaction.message_id, reaction.emoji) == (sent.id, "\N{THUMBS UP SIGN}")


async def test_repeated_nonce_returns_the_earlier_message(fake: FakeDiscord) -> None:
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        first = await channel.send("only once", nonce=424242)
        second = await channel.send("only once", nonce=424242)
        assert first.id == second.id
        assert len(fake.messages) == 1 and fake.messages[0].nonce == "424242"


async def test_rate_limited_post_is_retried_and_recorded_once(fake: FakeDiscord) -> None:
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        fake.rate_limit_next("POST", re.compile(r"^/channels/\d+/messages$"), retry_after=0.05)
        sent = await channel.send("patience")
        posts = [r for r in fake.requests if r.method == "POST" and r.path.endswith("/messages")]
        assert [r.status for r in posts] == [429, 200]
        assert posts[0].response["retry_after"] == 0.05
        assert [m.id for m in fake.messages] == [sent.id]


async def test_denied_and_unknown_channels_answer_like_discord(fake: FakeDiscord) -> None:
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        channel = client.get_channel(fake.default_channel_id)
        assert isinstance(channel, discord.TextChannel)
        fake.deny_channel(channel.id)
        with pytest.raises(discord.Forbidden) as forbidden:
            await channel.send("nope")
        assert forbidden.value.code == 50013
        with pytest.raises(discord.NotFound) as missing:
            await client.http.send_message(123, params=params("lost"))
        assert missing.value.code == 10003
        assert fake.messages == []
