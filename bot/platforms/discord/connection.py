"""Signing in to Discord: endpoints, intents, and one clear line for each way it fails.

Gateway close codes that no reconnect can fix (a rejected token, refused intents, bad shard
settings) become `StartupError`s the operator can act on, worded here once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
import discord

from bot.platforms import StartupError
from bot.platforms.discord import compat

if TYPE_CHECKING:
    from bot.config import DiscordConfig

MESSAGE_CONTENT_REFUSED = (
    "Discord refused the Message Content intent (close code 4014), so NaN answers are off: "
    "enable “Message Content Intent” under Bot > Privileged Gateway Intents in the developer "
    "portal (https://discord.com/developers/applications) and restart, or set "
    "discord.message_content = false; connecting without it, slash commands and daily posts "
    "keep working"
)
LOGIN_REFUSED = (
    "Discord: DISCORD_TOKEN was rejected (401 Unauthorized): copy the bot token from the "
    "developer portal (Bot > Reset Token) into DISCORD_TOKEN"
)
FATAL_CLOSES = {
    4004: "Discord: the gateway rejected DISCORD_TOKEN (4004): reset the token under Bot in the "
    "developer portal and set DISCORD_TOKEN to the new one",
    4010: "Discord: the shard settings are invalid (4010): check discord.shard_ids and "
    'discord.shard_count, or set discord.shards = "auto"',
    4011: "Discord: the bot is in too many servers for one connection (4011): set "
    'discord.shards = "auto"',
    4012: "Discord: the gateway refused the API version (4012): update discord.py",
    4013: "Discord: the gateway refused the intents (4013): this is a bug, please report it",
    4014: "Discord: the gateway refused a privileged intent (4014): enable “Message Content "
    "Intent” under Bot > Privileged Gateway Intents in the developer portal",
}


def configure_endpoints(config: DiscordConfig) -> None:
    """Point discord.py at `discord.api_base` and `discord.gateway_url`.

    Read once at start, before signing in; nothing else in the process talks to Discord.
    """
    compat.point_at(config.api_base, config.gateway_url)


def build_intents(*, message_content: bool) -> discord.Intents:
    """Guilds, guild and DM messages, and Message Content when asked for (it is privileged)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = message_content
    return intents


def closed_for_good(code: int) -> str:
    """The operator's line for a gateway close that ended the connection."""
    return FATAL_CLOSES.get(code, f"Discord: the gateway closed the connection ({code})")


def _unreachable(api_base: str, err: BaseException) -> str:
    return (
        f"Discord: cannot reach the API at {api_base} ({type(err).__name__}): check "
        "discord.api_base (env DISCORD_API_BASE) and the network"
    )


async def sign_in(client: discord.Client, token: str, api_base: str) -> None:
    """``client.login``, with a one-line `StartupError` for each way it fails."""
    try:
        await client.login(token)
    except discord.LoginFailure:
        await client.close()
        raise StartupError(LOGIN_REFUSED) from None
    except discord.HTTPException as err:
        await client.close()
        raise StartupError(
            f"Discord: signing in failed (HTTP {err.status}): check DISCORD_TOKEN and "
            "discord.api_base"
        ) from None
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as err:
        await client.close()
        raise StartupError(_unreachable(api_base, err)) from None
