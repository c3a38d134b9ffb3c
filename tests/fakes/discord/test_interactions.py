"""The emulator's interactions, driven by a real discord.py command tree: answers, limits."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord
import pytest
from discord import app_commands

from tests.fakes.discord.api import ADMINISTRATOR, FakeDiscord
from tests.fakes.discord.clients import (
    HARD_TIMEOUT,
    Inbox,
    connected,
    make_client,
)
from tests.helpers import Seconds


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


async def test_deferred_command_follow_up_and_deleting_the_original(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)
    guild = discord.Object(fake.default_guild_id)

    @tree.command(name="slow", description="Think, then answer", guild=guild)
    @app_commands.describe(topic="What to think about")
    async def slow(interaction: discord.Interaction, topic: str) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        await interaction.followup.send(f"thinking about {topic}")
        await interaction.delete_original_response()

    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        await tree.sync(guild=guild)
        assert [c["name"] for c in fake.synced_commands[fake.default_guild_id]] == ["slow"]

        # The follow-up goes through discord.py's webhook adapter, which must
        # also retry a 429 (it checks the same Via header).
        fake.rate_limit_next("POST", "/webhooks/", retry_after=0.01)
        interaction_id = await fake.send_command("slow", {"topic": "data"})
        callback = await fake.wait_for_callback(interaction_id)
        assert callback.type == 5 and callback.ephemeral
        created, deleted = await fake.wait_for_webhook_messages(2, interaction_id=interaction_id)
        follow_ups = [
            r for r in fake.requests if r.method == "POST" and r.path.startswith("/webhooks/")
        ]
        assert [r.status for r in follow_ups] == [429, 200]
        assert fake.followups(interaction_id) == [created]
        assert (created.action, created.content) == ("create", "thinking about data")
        assert (deleted.action, deleted.original) == ("delete", True)
        assert fake.get_message(callback.message_id or 0) is None  # the "thinking" message


async def test_autocomplete_and_button_round_trip(fake: FakeDiscord) -> None:
    client = make_client()
    tree = app_commands.CommandTree(client)

    class Buttons(discord.ui.View):
        @discord.ui.button(label="Confirm", custom_id="confirm")
        async def confirm(
            self, interaction: discord.Interaction, _: discord.ui.Button[Buttons]
        ) -> None:
            await interaction.response.edit_message(content="confirmed", view=None)

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


# ------------------------------------------------------------------------------ Discord's rules


async def pending(fake: FakeDiscord, client: discord.Client, kind: str = "command") -> Any:
    """An interaction discord.py received and nobody answered yet (no command tree)."""
    received = client.wait_for("interaction", timeout=HARD_TIMEOUT)
    if kind == "autocomplete":
        await fake.send_autocomplete("maxim", {"query": "x"}, focused="query")
    else:
        await fake.send_command("maxim")
    return await received


async def answer(fake: FakeDiscord, interaction: Any, body: dict[str, Any]) -> tuple[int, Any]:
    """POST an interaction callback as discord.py does, returning Discord's status and body."""
    url = f"{fake.api_base}/interactions/{interaction.id}/{interaction.token}/callback"
    async with aiohttp.ClientSession() as http, http.post(url, json=body) as response:
        return response.status, await response.json() if response.status != 204 else None


async def test_a_first_answer_later_than_3_s_is_an_unknown_interaction(fake: FakeDiscord) -> None:
    clock = fake.clock = Seconds()
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        in_time = await pending(fake, client)
        late = await pending(fake, client)
        clock.now += 2.9
        assert (await answer(fake, in_time, {"type": 5}))[0] == 204
        clock.now += 0.2  # 3.1 s after both were created
        status, body = await answer(fake, late, {"type": 5})
    assert (status, body) == (404, {"message": "Unknown interaction", "code": 10062})
    assert [c.interaction_id for c in fake.interaction_callbacks] == [in_time.id]


def _row(count: int, custom_id: str = "b") -> dict[str, Any]:
    button = {"type": 2, "style": 2, "label": "x"}
    return {
        "type": 1,
        "components": [{**button, "custom_id": f"{custom_id}{n}"} for n in range(count)],
    }


LONG = "x" * 101
MAX = ("BASE_TYPE_MAX_LENGTH", "Must be {} or fewer in length.")
BAD = ("BASE_TYPE_BAD_LENGTH", "Must be between 1 and {} in length.")
ROW = "components.0.components"


@pytest.mark.parametrize(
    ("kind", "data", "path", "rule", "limit"),
    [
        ("command", {"content": "x" * 2001}, "content", MAX, 2000),
        ("command", {"embeds": [{"description": "x"}] * 11}, "embeds", MAX, 10),
        ("command", {"components": [_row(1)] * 6}, "components", MAX, 5),
        ("command", {"components": [_row(6)]}, ROW, MAX, 5),
        ("command", {"components": [_row(1, LONG)]}, f"{ROW}.0.custom_id", BAD, 100),
        ("autocomplete", {"choices": [{"name": "n", "value": "v"}] * 26}, "choices", MAX, 25),
        ("autocomplete", {"choices": [{"name": LONG, "value": "v"}]}, "choices.0.name", BAD, 100),
        ("autocomplete", {"choices": [{"name": "n", "value": LONG}]}, "choices.0.value", BAD, 100),
    ],
    ids=["content", "embeds", "rows", "buttons", "custom-id", "choices", "name", "value"],
)
async def test_answers_beyond_discords_limits_are_invalid_form_bodies(
    fake: FakeDiscord,
    kind: str,
    data: dict[str, Any],
    path: str,
    rule: tuple[str, str],
    limit: int,
) -> None:
    client = make_client()
    async with asyncio.timeout(HARD_TIMEOUT), connected(fake, client):
        interaction = await pending(fake, client, kind)
        callback_type = 8 if kind == "autocomplete" else 4
        status, body = await answer(fake, interaction, {"type": callback_type, "data": data})
    errors: dict[str, Any] = {"_errors": [{"code": rule[0], "message": rule[1].format(limit)}]}
    for key in reversed(["data", *path.split(".")]):
        errors = {key: errors}
    assert status == 400
    assert body == {"message": "Invalid Form Body", "code": 50035, "errors": errors}
    assert fake.interaction_callbacks == []
