"""``maxim-bot discord invite`` and ``maxim-bot discord sync``: set-up over REST only.

Neither opens a gateway connection: the invite URL needs the application id at most, and a sync
needs a signed-in client and its command tree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

import discord

from bot.platforms import StartupError
from bot.platforms.discord.client import build_discord_client
from bot.platforms.discord.connection import configure_endpoints, sign_in
from bot.platforms.discord.sync import sync_commands

if TYPE_CHECKING:
    from bot.chat import ChatService
    from bot.config import DiscordConfig, Settings
    from bot.storage import Storage

# Permissions the bot uses, for the invite URL (`bot_permissions`).
PERMISSIONS_USED = {
    "view_channel": "see the channels it answers in",
    "send_messages": "answer NaN, post shared and daily posts",
    "send_messages_in_threads": "the same inside threads",
    "embed_links": "maxims are embeds",
    "attach_files": "maxim cards are PNG files, shown by their embed",
    "read_message_history": "reply to a message; find a daily post after a crash",
    "create_public_threads": "open a thread on a daily post to talk about it (thread = true)",
}
REACTION_PERMISSION = {"add_reactions": "react to NaN (discord.reaction)"}
OAUTH_AUTHORIZE = "https://discord.com/oauth2/authorize"


def invite_permissions(config: DiscordConfig) -> discord.Permissions:
    """Exactly the permissions the bot uses (Add Reactions only with ``discord.reaction``)."""
    used = dict(PERMISSIONS_USED)
    if config.reaction:
        used.update(REACTION_PERMISSION)
    return discord.Permissions(**dict.fromkeys(used, True))


async def _application_id(settings: Settings) -> int:
    token = settings.secrets.discord_token
    if token is None:
        raise StartupError(
            "Discord: set DISCORD_TOKEN (or pass --client-id, the application id from the "
            "developer portal's General Information page)"
        )
    configure_endpoints(settings.discord)
    client = discord.Client(intents=discord.Intents.none())
    await sign_in(client, token.get_secret_value(), settings.discord.api_base)
    try:
        if client.application_id is None:
            raise StartupError("Discord: the application id is unknown: pass --client-id")
        return client.application_id
    finally:
        await client.close()


def user_install_url(application: int) -> str:
    """The OAuth2 URL that adds `/maxim` to the presser's own account (a user install).

    A user install has no bot and no permissions: only ``applications.commands``, with
    ``integration_type=1`` (discord.py's ``oauth_url`` has no parameter for it).
    """
    query = urlencode(
        {"client_id": application, "integration_type": 1, "scope": "applications.commands"}
    )
    return f"{OAUTH_AUTHORIZE}?{query}"


def server_invite_url(config: DiscordConfig, application: int) -> str:
    """The URL that adds the bot to a server, with exactly the permissions it uses.

    The first line of ``maxim-bot discord invite``, and the pages' "Add to Discord" button.
    """
    return discord.utils.oauth_url(
        application,
        permissions=invite_permissions(config),
        scopes=("bot", "applications.commands"),
    )


async def invite_url(settings: Settings, client_id: int | None = None) -> str:
    """What ``maxim-bot discord invite`` prints: the server invite URL, then the user install.

    The application id is `client_id`, else ``discord.client_id``, else asked from Discord.
    The first line stays the bare server URL it always was, so scripts that read it keep
    working; the user install follows on a labelled line of its own.
    """
    application = client_id if client_id is not None else settings.discord.client_id
    if application is None:
        application = await _application_id(settings)
    server = server_invite_url(settings.discord, application)
    return f"{server}\nAdd to my apps: {user_install_url(application)}"


async def sync_commands_now(
    settings: Settings, service: ChatService, storage: Storage, guild_id: int | None = None
) -> list[str]:
    """``maxim-bot discord sync``: sync to `guild_id`, else ``discord.guild_ids``, else globally.

    Signs in over REST only (no gateway); records the hashes so the next start does not sync
    again (in `storage`). Returns one line per synced scope.
    """
    token = settings.secrets.discord_token
    if token is None:
        raise StartupError("Discord: set DISCORD_TOKEN to sync the slash commands")
    guild_ids = (guild_id,) if guild_id is not None else settings.discord.guild_ids
    configure_endpoints(settings.discord)
    client = build_discord_client(service, settings.discord)
    await sign_in(client, token.get_secret_value(), settings.discord.api_base)
    try:
        scopes = await sync_commands(client, storage, guild_ids, force=True)
    except discord.RateLimited as limit:
        raise StartupError(
            f"Discord: syncing the commands is rate-limited: try again in {limit.retry_after:.0f} s"
        ) from None
    except discord.HTTPException as err:
        raise StartupError(
            f"Discord: syncing the commands failed (HTTP {err.status}, code {err.code})"
            + (
                ": is the bot in that server, invited with the applications.commands scope?"
                if err.status in (403, 404)
                else ""
            )
        ) from None
    finally:
        await client.close()
    return [
        f"synced /maxim and /maxim-daily to server {scope}"
        if scope != "global"
        else "synced /maxim and /maxim-daily globally (may take up to an hour to show)"
        for scope in scopes
    ]
