"""Self-tests of the loopback Discord emulator, driven by a real ``discord.Client``.

Why: every Discord test of the bot trusts :class:`tests.fakes.discord.api.FakeDiscord`
to behave like Discord *as discord.py sees it*.  These tests pin that contract
(connect/READY, intents and close codes, RESUME, REST recording, rate limits,
slash commands and their callbacks) against the installed discord.py, so a
library upgrade that changes the wire behaviour fails here first.

Synchronisation uses the emulator's condition-based waiters and discord.py's
own events; nothing sleeps for a fixed time.  Every test runs under a hard
``asyncio.timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
import yarl
from discord import app_commands

from tests.fakes.discord.api import ADMINISTRATOR, FakeDiscord
from tests.fakes.discord.gateway import INTENT_MESSAGE_CONTENT

HARD_TIMEOUT = 8.0
# How long discord.py waits for more GUILD_CREATEs before firing on_ready
# (default 2 s); the emulator sends them all right after READY.
GUILD_READY_TIMEOUT = 0.05


def make_intents(*, message_content: bool = True) -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = message_content
    return intents


def make_client(*, message_content: bool = True) -> discord.Client:
    return discord.Client(
        intents=make_intents(message_content=message_content),
        guild_ready_timeout=GUILD_READY_TIMEOUT,
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as emulator, emulator.patch_discord():
        yield emulator


@contextlib.asynccontextmanager
async def connected(fake: FakeDiscord, client: discord.Client) -> AsyncIterator[asyncio.Task[None]]:
    """Log in, connect in a task, wait for on_ready; always close cleanly."""
    await client.login(fake.token)
    task = asyncio.create_task(client.connect(reconnect=True))
    try:
        ready = asyncio.create_task(client.wait_until_ready())
        done, _ = await asyncio.wait(
            {ready, task}, timeout=HARD_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            if task in done:
                task.result()  # re-raise the connect failure
            raise AssertionError(f"client never became ready\n{fake.describe()}")
        yield task
    finally:
        await client.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, HARD_TIMEOUT)


class Inbox:
    """Collects on_message events in arrival order."""

    def __init__(self, client: discord.Client) -> None:
        self.queue: asyncio.Queue[discord.Message] = asyncio.Queue()

        async def on_message(message: discord.Message) -> None:
            await self.queue.put(message)

        client.event(on_message)

    async def next(self, *, skip_own: discord.ClientUser | None = None) -> discord.Message:
        while True:
            message = await asyncio.wait_for(self.queue.get(), HARD_TIMEOUT)
            if skip_own is None or message.author.id != skip_own.id:
                return message


# ---------------------------------------------------------------------------
# plumbing
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# gateway
# ---------------------------------------------------------------------------


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


async def test_login_with_bad_token_raises_login_failure(fake: FakeDiscord) -> None:
    client = make_client()
    try:
        async with asyncio.timeout(HARD_TIMEOUT):
            with pytest.raises(discord.LoginFailure):
                await client.login("not-the-token")
    finally:
        await client.close()
    assert fake.requests[-1].status == 401


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
    client.event(_setter("on_resumed", resumed))
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


async def test_member_intent_guild_create_and_chunk_request(fake: FakeDiscord) -> None:
    fake.add_member(username="second-human")
    intents = make_intents()
    intents.members = True
    client = discord.Client(intents=intents, guild_ready_timeout=GUILD_READY_TIMEOUT)
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        guild = client.get_guild(fake.default_guild_id)
        assert guild is not None and guild.chunked
        assert {m.name for m in guild.members} == {"maxim-bot", "tester", "second-human"}
        members = await guild.chunk()  # op 8 -> GUILD_MEMBERS_CHUNK
        assert len(members) == 3


# ---------------------------------------------------------------------------
# REST recording
# ---------------------------------------------------------------------------


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
            await client.http.send_message(123, params=_params("lost"))
        assert missing.value.code == 10003
        assert fake.messages == []


# ---------------------------------------------------------------------------
# application commands and interactions
# ---------------------------------------------------------------------------


async def test_command_sync_is_recorded_and_interaction_gets_type4_callback(
    fake: FakeDiscord,
) -> None:
    client = make_client()
    inbox = Inbox(client)
    tree = app_commands.CommandTree(client)
    response: asyncio.Future[discord.InteractionCallbackResponse[Any]] = (
        asyncio.get_running_loop().create_future()
    )

    @tree.command(name="ping", description="Check the bot is alive")
    async def ping(interaction: discord.Interaction) -> None:
        response.set_result(await interaction.response.send_message("pong"))

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        synced = await tree.sync()
        assert [c.name for c in synced] == ["ping"]
        [stored] = fake.synced_commands[None]
        assert stored["name"] == "ping" and stored["description"] == "Check the bot is alive"
        assert synced[0].id == int(stored["id"])
        assert fake.requests[-1].method == "PUT"
        assert fake.requests[-1].path == f"/applications/{fake.application_id}/commands"

        interaction_id = await fake.send_command("ping")
        callback = await fake.wait_for_callback(interaction_id)
        assert callback.type == 4 and callback.content == "pong"
        parsed = await response  # discord.py parsed {"interaction": ..., "resource": ...}
        assert parsed.message_id == callback.message_id
        assert isinstance(parsed.resource, discord.InteractionMessage)
        assert parsed.resource.content == "pong"
        assert fake.original_response(interaction_id)["content"] == "pong"  # type: ignore[index]

        echo = await inbox.next()  # the public response is echoed as MESSAGE_CREATE
        assert echo.id == callback.message_id and echo.content == "pong"
        assert echo.type is discord.MessageType.chat_input_command
        assert echo.interaction_metadata is not None
        assert echo.interaction_metadata.id == interaction_id
        assert (fake.identify_count, fake.resume_count) == (1, 0)  # no parse error dropped us


async def test_deferred_command_follow_up_and_edit(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.default_guild_id)

    @tree.command(name="slow", description="Think, then answer", guild=guild)
    @app_commands.describe(topic="What to think about")
    async def slow(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await interaction.followup.send(f"thinking about {topic}")
        await interaction.edit_original_response(content=f"done with {topic}")

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync(guild=guild)
        assert [c["name"] for c in fake.synced_commands[fake.default_guild_id]] == ["slow"]

        # The follow-up goes through discord.py's webhook adapter, which must
        # also retry a 429 (it checks the same Via header).
        fake.rate_limit_next("POST", "/webhooks/", retry_after=0.01)
        interaction_id = await fake.send_command("slow", {"topic": "data"})
        callback = await fake.wait_for_callback(interaction_id)
        assert callback.type == 5 and callback.ephemeral
        created, edited = await fake.wait_for_webhook_messages(2, interaction_id=interaction_id)
        follow_ups = [
            r for r in fake.requests if r.method == "POST" and r.path.startswith("/webhooks/")
        ]
        assert [r.status for r in follow_ups] == [429, 200]
        assert fake.followups(interaction_id) == [created]
        assert (created.action, created.content) == ("create", "thinking about data")
        assert (edited.action, edited.original, edited.content) == ("edit", True, "done with data")
        assert fake.original_response(interaction_id)["content"] == "done with data"  # type: ignore[index]


async def test_autocomplete_button_and_modal_round_trip(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    submitted: list[str] = []
    modal_registered = asyncio.Event()

    class Feedback(discord.ui.Modal, title="Feedback"):
        text: discord.ui.TextInput[Feedback] = discord.ui.TextInput(label="Text", custom_id="text")

        async def on_submit(self, interaction: discord.Interaction) -> None:
            submitted.append(self.text.value)
            await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)

    class Buttons(discord.ui.View):
        @discord.ui.button(label="Confirm", custom_id="confirm")
        async def confirm(
            self, interaction: discord.Interaction, _: discord.ui.Button[Buttons]
        ) -> None:
            await interaction.response.edit_message(content="confirmed", view=None)

        @discord.ui.button(label="Feedback", custom_id="feedback")
        async def feedback(
            self, interaction: discord.Interaction, _: discord.ui.Button[Buttons]
        ) -> None:
            await interaction.response.send_modal(Feedback(custom_id="feedback-modal"))
            modal_registered.set()  # discord.py registers the modal once the callback returned

    async def complete(_: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{current}-{n}", value=f"{current}-{n}") for n in (1, 2)]

    @tree.command(name="maxim", description="Show a maxim")
    @app_commands.autocomplete(query=complete)
    async def maxim(interaction: discord.Interaction, query: str) -> None:
        await interaction.response.send_message(f"maxim for {query}", view=Buttons())

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()

        auto_id = await fake.send_autocomplete("maxim", {"query": "dat"}, focused="query")
        auto = await fake.wait_for_callback(auto_id)
        assert auto.type == 8
        assert auto.data == {
            "choices": [{"name": "dat-1", "value": "dat-1"}, {"name": "dat-2", "value": "dat-2"}]
        }

        # discord.py registers the view only after the callback's HTTP answer
        # arrives, so wait for the command to complete before clicking.
        completed = client.wait_for("app_command_completion", timeout=HARD_TIMEOUT)
        command_id = await fake.send_command("maxim", {"query": "data"})
        await completed
        shown = await fake.wait_for_callback(command_id)
        assert shown.type == 4 and shown.content == "maxim for data"

        edited = client.wait_for("raw_message_edit", timeout=HARD_TIMEOUT)
        click_id = await fake.send_component("confirm")
        click = await fake.wait_for_callback(click_id)
        assert (await edited).message.content == "confirmed"  # MESSAGE_UPDATE echo parsed
        assert click.type == 7 and click.content == "confirmed"
        assert click.message_id == shown.message_id
        assert fake.get_message(shown.message_id or 0)["components"] == []  # type: ignore[index]

        # The view was removed by the edit, so re-post one to open the modal from.
        completed = client.wait_for("app_command_completion", timeout=HARD_TIMEOUT)
        await fake.send_command("maxim", {"query": "more"})
        await completed
        open_id = await fake.send_component("feedback")
        opened = await fake.wait_for_callback(open_id)
        await asyncio.wait_for(modal_registered.wait(), HARD_TIMEOUT)
        assert opened.type == 9 and opened.data is not None
        assert opened.data["custom_id"] == "feedback-modal"

        submit_id = await fake.send_modal_submit("feedback-modal", {"text": "great"})
        thanks = await fake.wait_for_callback(submit_id)
        assert thanks.type == 4 and thanks.content == "thanks: great" and thanks.ephemeral
        assert submitted == ["great"]
        assert (fake.identify_count, fake.resume_count) == (1, 0)


async def test_member_permissions_and_app_permissions_reach_discord_py(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    seen: list[tuple[bool, bool, bool]] = []

    @tree.command(name="perms", description="Report permissions")
    async def perms(interaction: discord.Interaction) -> None:
        seen.append(
            (
                interaction.permissions.manage_guild,
                interaction.app_permissions.send_messages,
                interaction.app_permissions.administrator,
            )
        )
        await interaction.response.send_message("ok", ephemeral=True)

    member = fake.add_member(username="lurker")
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync()
        admin_call = await fake.send_command("perms")  # default user is an admin
        await fake.wait_for_callback(admin_call)
        fake.deny_channel(fake.default_channel_id)
        plain_call = await fake.send_command("perms", user_id=member.user_id)
        await fake.wait_for_callback(plain_call)
        explicit = await fake.send_command("perms", member_permissions=ADMINISTRATOR)
        await fake.wait_for_callback(explicit)
    assert seen == [(True, True, False), (False, False, False), (False, False, False)]


def _setter(name: str, event: asyncio.Event) -> Any:
    async def handler(*_: Any) -> None:
        event.set()

    handler.__name__ = name
    return handler


def _params(content: str) -> Any:
    return discord.http.handle_message_parameters(content=content)


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
