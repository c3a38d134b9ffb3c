"""Every place the Discord adapter relies on discord.py internals, and nowhere else.

discord.py has no public setting for these, so the adapter writes class attributes or calls
undocumented methods. Keeping them in one small module makes a library upgrade a one-file
review, and ``tests/bot/platforms/discord/test_compat.py`` fails loudly when discord.py renames
or removes any of them (instead of the bot silently talking to discord.com, or warning about
voice at every start).
"""

from __future__ import annotations

from typing import Any

import discord
import yarl
from discord import app_commands


class LibraryChanged(RuntimeError):
    """discord.py no longer has an internal the adapter relies on: review `compat` first."""


def _require(owner: type, name: str) -> None:
    """Refuse to write an attribute discord.py does not define (the write would do nothing)."""
    if name not in vars(owner):
        raise LibraryChanged(
            f"discord.py {discord.__version__} has no {owner.__qualname__}.{name}: "
            "bot/platforms/discord/compat.py needs updating"
        )


def point_at(api_base: str, gateway_url: str) -> None:
    """Send REST calls to `api_base` and a plain client's gateway connection to `gateway_url`.

    Both are class attributes read at call time: REST calls, interaction callbacks and webhook
    follow-ups all build their URLs from ``Route.BASE``; a plain client connects to
    ``DEFAULT_GATEWAY`` without asking ``/gateway/bot`` (an auto-sharded one asks, and so
    follows ``api_base``).
    """
    _require(discord.http.Route, "BASE")
    _require(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY")
    discord.http.Route.BASE = api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def silence_voice_warnings() -> None:
    """The bot never joins voice: no need to warn operators that voice libraries are missing.

    discord.py warns once per process, in ``Client.__init__``, while these flags are set.
    """
    _require(discord.VoiceClient, "warn_nacl")
    _require(discord.VoiceClient, "warn_dave")
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


def command_payloads(
    tree: app_commands.CommandTree[Any], guild: discord.Object | None
) -> list[dict[str, Any]]:
    """The JSON a ``tree.sync(guild=guild)`` would send (``Command.to_dict`` is undocumented)."""
    return [command.to_dict(tree) for command in tree.get_commands(guild=guild)]


def integration_owners(interaction: discord.Interaction[Any]) -> dict[int, int]:
    """Which installs of the app authorised `interaction`: ``authorizing_integration_owners``.

    Keys are integration types (0: a server install, valued with that server's id, or 0 in a
    DM with the bot; 1: a user install, valued with the user's id). discord.py parses them
    into a private attribute and only exposes yes/no questions that cannot tell a DM with
    the bot installed through a server from one reached by a user install alone.
    """
    _require(discord.Interaction, "_integration_owners")
    return {kind: int(owner) for kind, owner in interaction._integration_owners.items()}
