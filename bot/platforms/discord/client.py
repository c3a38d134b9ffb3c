"""The discord.py client of the bot: options, intents, the command tree and where events go.

`build_discord_client` builds a fresh client each time (an `AutoShardedClient` when sharding is
configured); there is no module-level client, so every test and every reconnect without the
Message Content intent gets its own. What the commands do is `DiscordHandlers`' business.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.platforms.discord import compat
from bot.platforms.discord.connection import build_intents
from bot.platforms.discord.daily_options import Style
from bot.platforms.discord.handlers import DiscordHandlers
from bot.platforms.discord.render import NO_MENTIONS, PreviewButton

if TYPE_CHECKING:
    from bot.chat import ChatService
    from bot.config import DiscordConfig


# discord.py sleeps through a 429 itself, however long Discord asks. A daily post runs under a
# claim in storage that another process takes over after `schedule.claim_timeout_seconds`
# (default 300 s), so no wait may come near that: longer rate limits raise
# `discord.RateLimited` instead, which the poster turns into `bot.poster.RateLimited` and the
# scheduler into a pause of posts to Discord. discord.py refuses values under 30 s.
MAX_RATE_LIMIT_WAIT = 60.0


class MaximClient(discord.Client):
    """A `discord.Client` carrying the maxim command tree and handlers."""

    tree: app_commands.CommandTree[MaximClient]
    handlers: DiscordHandlers

    async def on_preview_button(
        self, interaction: discord.Interaction[Any], custom_id: str
    ) -> None:
        """A Post / Another / Cancel press (see `bot.platforms.discord.render.PreviewButton`)."""
        await self.handlers.on_button(interaction, custom_id)


class ShardedMaximClient(discord.AutoShardedClient, MaximClient):
    """The same, over several shards (``discord.shards``, ``shard_ids``, ``shard_count``)."""


def is_sharded(config: DiscordConfig) -> bool:
    """Whether the configuration asks for an `AutoShardedClient`."""
    return config.shards == "auto" or config.shard_ids is not None or config.shard_count is not None


def build_discord_client(
    service: ChatService,
    config: DiscordConfig,
    *,
    message_content: bool | None = None,
    guild_ready_timeout: float = 2.0,
    handlers: DiscordHandlers | None = None,
) -> MaximClient:
    """A fresh client answering `/maxim`, `/maxim-daily`, their buttons and messages.

    Args:
        service: the chat service every platform shares.
        config: ``[discord]``; nothing is read from the environment.
        message_content: ask for the Message Content intent (default: the config's).
        guild_ready_timeout: seconds discord.py waits for more guilds before "ready".
        handlers: the handlers to use (default: new ones for `service` and `config`).

    """
    handlers = handlers or DiscordHandlers(service, config)
    compat.silence_voice_warnings()
    intents = build_intents(
        message_content=config.message_content if message_content is None else message_content
    )
    options: dict[str, Any] = {
        "intents": intents,
        "guild_ready_timeout": guild_ready_timeout,
        "max_messages": None,  # nothing here reads discord.py's message cache
        "chunk_guilds_at_startup": False,
        "allowed_mentions": NO_MENTIONS,
        "max_ratelimit_timeout": MAX_RATE_LIMIT_WAIT,
    }
    client: MaximClient
    if is_sharded(config):
        if config.shard_ids is not None:
            options["shard_ids"] = list(config.shard_ids)
        if config.shard_count is not None:
            options["shard_count"] = config.shard_count
        client = ShardedMaximClient(**options)
    else:
        client = MaximClient(**options)
    client.handlers = handlers
    client.tree = build_command_tree(client, handlers)
    client.add_dynamic_items(PreviewButton)
    client.event(handlers.on_message)
    client.event(handlers.on_error)
    return client


def build_command_tree(
    client: MaximClient, handlers: DiscordHandlers
) -> app_commands.CommandTree[MaximClient]:
    """`/maxim [query]` and `/maxim-daily [time] [zone] [days] [style] [thread]`, globally.

    Syncing to a guild copies them there first (`bot.platforms.discord.sync`); interactions of
    guild commands find them through discord.py's fallback to global commands. `/maxim` may
    also be installed by a user to their own account and used anywhere (their DMs and group
    DMs, servers without the bot): it only answers the asker, and publishes through the
    interaction where the bot is not in the channel. `/maxim-daily` stays with server
    installs in servers: a daily post needs the bot in the channel.
    """
    tree: app_commands.CommandTree[MaximClient] = app_commands.CommandTree(client)

    @tree.command(name="maxim", description="A maxim: random, by number, today’s, or a search")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    @app_commands.describe(
        query="A number (34), words to search (nan), today, list, help, or daily HH:MM Area/City"
    )
    async def maxim_command(interaction: discord.Interaction, query: str | None = None) -> None:
        await handlers.on_maxim_command(interaction, query or "")

    @maxim_command.autocomplete("query")
    async def maxim_query_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return handlers.query_choices(current)

    @tree.command(
        name="maxim-daily",
        description="Post a maxim of the day in this channel at a time, or turn it off",
    )
    @app_commands.describe(
        time="HH:MM on a 24-hour clock (09:00), or off; leave empty to see the setting",
        zone="Time zone, like Europe/Berlin (default: the channel’s, else UTC)",
        days="Days to post on: every day, weekdays, mon,wed,fri, sat,sun… (default: the channel’s)",
        style="The maxim as text or as a card, a picture (default: the channel’s, else text)",
        thread="Open a thread to talk in under each post (default: the channel’s, else no)",
    )
    @app_commands.default_permissions(manage_channels=True)
    @app_commands.guild_install()
    @app_commands.guild_only()
    async def maxim_daily_command(
        interaction: discord.Interaction,
        time: str | None = None,
        zone: str | None = None,
        days: str | None = None,
        style: Style | None = None,
        thread: bool | None = None,
    ) -> None:
        await handlers.on_daily_command(interaction, time, zone, days, style, thread)

    @maxim_daily_command.autocomplete("zone")
    async def maxim_zone_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return handlers.zone_choices(current)

    @maxim_daily_command.autocomplete("days")
    async def maxim_days_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return handlers.days_choices(current)

    tree.error(handlers.on_tree_error)
    return tree
