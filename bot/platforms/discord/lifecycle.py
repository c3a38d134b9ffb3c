"""The Discord platform: discord.py's client with `/maxim`, `/maxim-daily`, NaN answers, and posts.

Each handler pulls plain values out of the interaction or message, makes one `ChatService`
call and sends what `bot.platforms.discord.render` returns. Everything runs on the bot's one
event loop, next to the scheduler and the other platforms.

- `build_discord_client` builds a fresh client (an `AutoShardedClient` when sharding is
  configured) with the command tree; there is no module-level client.
- `DiscordPlatform` is the runner's view of it: signs in, syncs the commands only when they
  changed, connects, and falls back to a connection without the Message Content intent when
  Discord refuses it (close code 4014).
- `DiscordPoster` posts the maxim of the day with a nonce derived from the post's key, so
  Discord itself drops the duplicate of a post retried after a crash.
- `sync_commands_now` and `invite_url` back ``maxim-bot discord sync`` and ``... invite``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import hashlib
import json
import logging
import zoneinfo
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import aiohttp
import discord
import yarl
from discord import app_commands

from bot.chat import ACK_DEADLINE, ChatService, Origin, in_time
from bot.log import report_failure
from bot.platforms import HealthCheck, StartupError, no_scheduler
from bot.platforms.discord.render import (
    NO_MENTIONS,
    PreviewButton,
    is_daily_post,
    parse_custom_id,
    render_daily,
    render_maxim,
    render_notice,
    render_preview,
    render_reply,
    render_shared,
)
from bot.poster import ChannelUnavailable, PostError, RateLimited
from bot.preview import (
    ACTION_CANCEL,
    ACTION_POST,
    ACTION_SHUFFLE,
    ACTIONS,
    STALE_PREVIEW,
    is_private,
)
from maxims import Maxim, parse_query
from maxims.query import Search

if TYPE_CHECKING:
    from bot.config import DiscordConfig, Secrets, Settings
    from bot.storage import Storage

log = logging.getLogger(__name__)

PLATFORM = "discord"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
HISTORY_LIMIT = 50  # find_post runs minutes after a crash: the post is among the newest
NONCE_LENGTH = 25  # Discord's limit for a message nonce
CHOICES_LIMIT = 25  # Discord shows at most 25 autocomplete choices
CHOICE_LENGTH = 100
# After storage refused a trigger answer (the channel cools down), skip that channel's
# triggers locally for this long instead of asking storage again for every message.
COMMAND_META_KEY = "discord:commands:{application}:{scope}"

# Permissions the bot uses, for the invite URL (`bot_permissions`).
PERMISSIONS_USED = {
    "view_channel": "see the channels it answers in",
    "send_messages": "answer NaN, post shared and daily maxims",
    "send_messages_in_threads": "the same inside threads",
    "embed_links": "maxims are embeds",
    "read_message_history": "reply to a message; find a daily post after a crash",
}
REACTION_PERMISSION = {"add_reactions": "react to NaN (discord.reaction)"}

NOT_YOURS = "Only the person who asked can use these buttons: run `/maxim` for your own."
CANNOT_POST = (
    "I can’t post in this channel: ask someone with Manage Channels to let me View Channel, "
    "Send Messages and Embed Links here."
)
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
_HUMAN_MESSAGES = frozenset({discord.MessageType.default, discord.MessageType.reply})
_KEYWORDS = (  # offered as they are typed; the first four also for an empty query
    ("random", "a random maxim"),
    ("today", "today’s maxim of the day"),
    ("list", "every maxim, numbered"),
    ("help", "how to use /maxim"),
    ("daily", "this channel’s daily post (daily HH:MM Area/City, daily off)"),
)
_WORDS_THAT_ARE_NOT_SEARCHES = frozenset(keyword for keyword, _ in _KEYWORDS)
_COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Sydney",
)


# ------------------------------------------------------------------------------ connection


def configure_endpoints(config: DiscordConfig) -> None:
    """Point discord.py at `discord.api_base` and `discord.gateway_url` (class attributes).

    Read once at start, before signing in. REST calls, interaction callbacks and webhook
    follow-ups all build their URLs from ``Route.BASE``; a plain client connects to
    ``DEFAULT_GATEWAY`` (an auto-sharded one asks ``/gateway/bot`` for its URL).
    """
    discord.http.Route.BASE = config.api_base.rstrip("/")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(config.gateway_url)


def build_intents(*, message_content: bool) -> discord.Intents:
    """Guilds, guild and DM messages, and Message Content when asked for (it is privileged)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = message_content
    return intents


def is_sharded(config: DiscordConfig) -> bool:
    """Whether the configuration asks for an `AutoShardedClient`."""
    return config.shards == "auto" or config.shard_ids is not None or config.shard_count is not None


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


# ------------------------------------------------------------------------------ the client


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
    # The bot never joins voice: no need to warn operators that voice libraries are missing.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    intents = build_intents(
        message_content=config.message_content if message_content is None else message_content
    )
    options: dict[str, Any] = {
        "intents": intents,
        "guild_ready_timeout": guild_ready_timeout,
        "max_messages": None,  # nothing here reads discord.py's message cache
        "chunk_guilds_at_startup": False,
        "allowed_mentions": NO_MENTIONS,
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
    """`/maxim [query]` and `/maxim-daily [time] [zone]`, registered globally.

    Syncing to a guild copies them there first (`sync_commands`); interactions of guild
    commands find them through discord.py's fallback to global commands.
    """
    tree: app_commands.CommandTree[MaximClient] = app_commands.CommandTree(client)

    @tree.command(name="maxim", description="A maxim: random, by number, today’s, or a search")
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
    )
    @app_commands.default_permissions(manage_channels=True)
    async def maxim_daily_command(
        interaction: discord.Interaction, time: str | None = None, zone: str | None = None
    ) -> None:
        await handlers.on_daily_command(interaction, time, zone)

    @maxim_daily_command.autocomplete("zone")
    async def maxim_zone_choices(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return handlers.zone_choices(current)

    tree.error(handlers.on_tree_error)
    return tree


# ------------------------------------------------------------------------------ suggestions


def _maxim_choice(maxim: Maxim) -> tuple[str, str]:
    prefix = f"{maxim.number} · "
    return prefix + maxim.preview(CHOICE_LENGTH - len(prefix)), str(maxim.number)


def suggest_queries(service: ChatService, current: str) -> list[tuple[str, str]]:
    """Autocomplete for `/maxim query`: (name, value) pairs, at most 25.

    Keywords that start with what was typed; for a number, that maxim and those whose number
    starts with it; otherwise the search results (typos forgiven by the core's search).
    """
    corpus = service.corpus
    text = current.strip()
    lowered = text.lower()
    found: dict[str, str] = {}  # value -> name, in order
    if not text:
        for keyword, what in _KEYWORDS[:4]:
            found[keyword] = f"{keyword} · {what}"
        for maxim in list(corpus)[: CHOICES_LIMIT - len(found)]:
            name, value = _maxim_choice(maxim)
            found[value] = name
        return [(name, value) for value, name in found.items()]
    for keyword, what in _KEYWORDS:
        if keyword.startswith(lowered):
            found[keyword] = f"{keyword} · {what}"
    digits = lowered.removeprefix("#")
    if digits.isdigit() and digits.isascii():
        exact = corpus.get(int(digits[:6]))
        matches = [exact] if exact is not None else []
        matches += [m for m in corpus if str(m.number).startswith(digits) and m is not exact]
    elif lowered.split()[0] in _WORDS_THAT_ARE_NOT_SEARCHES:
        matches = []
    else:
        query = parse_query(text)
        matches = corpus.search(query.words) if isinstance(query, Search) else []
    for maxim in matches:
        if len(found) >= CHOICES_LIMIT:
            break
        name, value = _maxim_choice(maxim)
        found.setdefault(value, name)
    return [(name, value) for value, name in list(found.items())[:CHOICES_LIMIT]]


@functools.cache
def _zone_names() -> tuple[str, ...]:
    names = {z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith("Etc/")}
    return tuple(sorted(names | {"UTC"}))


def suggest_zones(current: str) -> list[tuple[str, str]]:
    """Autocomplete for IANA time zones: names starting with it, then cities, then the rest."""
    wanted = "_".join(current.strip().split()).lower()
    if not wanted:
        return [(zone, zone) for zone in _COMMON_ZONES]
    names = _zone_names()
    ranked = [z for z in names if z.lower().startswith(wanted)]
    ranked += [z for z in names if z.rsplit("/", 1)[-1].lower().startswith(wanted)]
    ranked += [z for z in names if wanted in z.lower()]
    unique = list(dict.fromkeys(ranked))[:CHOICES_LIMIT]
    return [(zone, zone) for zone in unique]


# ------------------------------------------------------------------------------ handlers


def origin_of(interaction: discord.Interaction[Any]) -> Origin:
    """Where an interaction came from, in plain values."""
    return Origin(
        PLATFORM,
        str(interaction.channel_id or ""),
        str(interaction.user.id),
        str(interaction.guild_id or ""),
    )


async def _send_private(interaction: discord.Interaction[Any], text: str) -> None:
    """A line for the asker alone, whether or not the interaction was answered already."""
    message = render_notice(text)
    if interaction.response.is_done():
        await interaction.followup.send(**message, ephemeral=True)
    else:
        await interaction.response.send_message(**message, ephemeral=True)


class DiscordHandlers:
    """The event, command and button handlers of the maxim bot, with what they share."""

    def __init__(
        self, service: ChatService, config: DiscordConfig, *, ack_deadline: float = ACK_DEADLINE
    ) -> None:
        self.service = service
        self.config = config
        self.ack_deadline = ack_deadline

    # ---------------------------------------------------------------- slash commands

    async def on_maxim_command(self, interaction: discord.Interaction[Any], query: str) -> None:
        """`/maxim [query]`: a private preview with buttons, or the answer itself."""
        await self._answer(interaction, query)

    async def on_daily_command(
        self, interaction: discord.Interaction[Any], time: str | None, zone: str | None
    ) -> None:
        """`/maxim-daily [time] [zone]`: the same as `/maxim daily [time] [zone]`."""
        await self._answer(interaction, " ".join(["daily", *(p for p in (time, zone) if p)]))

    async def _answer(self, interaction: discord.Interaction[Any], text: str) -> None:
        origin = origin_of(interaction)

        async def is_admin() -> bool:
            if interaction.guild_id is None:
                return True  # a DM with the bot: the asker's own channel
            # default_member_permissions only hides the command; a server can change that.
            permissions = interaction.permissions
            return bool(permissions.manage_channels or permissions.administrator)

        work, done = await in_time(self.service.command(origin, text, is_admin), self.ack_deadline)
        if not done:
            # Private by default: previews, lists and errors are private anyway.
            await interaction.response.defer(ephemeral=self.config.preview, thinking=True)
        reply = await work
        private = is_private(reply, preview=self.config.preview)
        message = render_reply(reply, preview=self.config.preview, user_id=interaction.user.id)
        if interaction.response.is_done():
            await interaction.followup.send(**message, ephemeral=private)
        else:
            await interaction.response.send_message(**message, ephemeral=private)

    def query_choices(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete of `/maxim query` (see `suggest_queries`)."""
        return self._choices(lambda: suggest_queries(self.service, current))

    def zone_choices(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete of `/maxim-daily zone` (see `suggest_zones`)."""
        return self._choices(lambda: suggest_zones(current))

    def _choices(
        self, suggest: Callable[[], list[tuple[str, str]]]
    ) -> list[app_commands.Choice[str]]:
        try:
            pairs = suggest()
        except Exception:
            report_failure(log, "discord autocomplete")  # Discord shows "no options"; we log
            return []
        return [
            app_commands.Choice(name=name[:CHOICE_LENGTH], value=value) for name, value in pairs
        ]

    # ---------------------------------------------------------------- buttons

    async def on_button(self, interaction: discord.Interaction[Any], custom_id: str) -> None:
        """Post / Another / Cancel on a preview; only the asker may press them."""
        try:
            await self._press(interaction, custom_id)
        except Exception:
            apology = report_failure(log, "discord button")
            with contextlib.suppress(discord.HTTPException):
                await _send_private(interaction, apology)

    async def _press(self, interaction: discord.Interaction[Any], custom_id: str) -> None:
        press = parse_custom_id(custom_id)
        preview = self.service.preview(press.encoded) if press is not None else None
        if press is None or preview is None or press.action not in ACTIONS:
            await _send_private(interaction, STALE_PREVIEW)
            return
        if press.user != str(interaction.user.id):
            await _send_private(interaction, NOT_YOURS)
            return
        if press.action == ACTION_SHUFFLE:
            following = self.service.shuffle(press.encoded)
            if following is None:
                await _send_private(interaction, STALE_PREVIEW)
                return
            await interaction.response.edit_message(
                **render_preview(following, interaction.user.id)
            )
        elif press.action == ACTION_CANCEL:
            await interaction.response.defer()
            await interaction.delete_original_response()
        elif press.action == ACTION_POST:
            await self._post(interaction, preview.maxim)
        else:
            await _send_private(interaction, STALE_PREVIEW)

    async def _post(self, interaction: discord.Interaction[Any], maxim: Maxim) -> None:
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            await _send_private(interaction, CANNOT_POST)
            return
        await interaction.response.defer()
        try:
            await channel.send(**render_shared(maxim, interaction.user.id))
        except (discord.Forbidden, discord.NotFound) as err:
            log.warning(
                "cannot post maxim %d in %s (%s)", maxim.number, interaction.channel_id, err.code
            )
            await interaction.followup.send(**render_notice(CANNOT_POST), ephemeral=True)
            return
        log.info("maxim %d shared on discord in %s", maxim.number, interaction.channel_id)
        with contextlib.suppress(discord.NotFound):
            await interaction.delete_original_response()

    # ---------------------------------------------------------------- messages

    async def on_message(self, message: discord.Message) -> None:
        """Any message: the triggers (NaN...) may answer it with a reply.

        The common case (no trigger) costs a few attribute reads and the core's check; a
        channel that is cooling down is skipped by `ChatService.message` without storage.
        """
        if message.author.bot or message.webhook_id is not None:
            return  # ourselves, other bots, webhooks
        if message.type not in _HUMAN_MESSAGES:
            return
        origin = Origin(
            PLATFORM,
            str(message.channel.id),
            str(message.author.id),
            str(message.guild.id if message.guild else ""),
        )
        maxim = await self.service.message(origin, message.content, event_id=str(message.id))
        if maxim is not None:
            await self._reply(message, maxim)

    async def _reply(self, message: discord.Message, maxim: Maxim) -> None:
        try:
            await message.channel.send(
                **render_maxim(maxim),
                reference=message.to_reference(fail_if_not_exists=False),
                mention_author=False,
            )
        except (discord.Forbidden, discord.NotFound) as err:
            log.warning("cannot answer in discord channel %s (%s)", message.channel.id, err.code)
            return
        if self.config.reaction:
            try:
                await message.add_reaction(self.config.reaction)
            except discord.HTTPException as err:
                log.warning("cannot react in discord channel %s (%s)", message.channel.id, err.code)

    # ---------------------------------------------------------------- error boundaries

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """discord.py's handler for exceptions in events: log with a reference."""
        report_failure(log, f"discord {event_method}")

    async def on_tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """`CommandTree.on_error`: log with a reference, apologise to the asker alone."""
        name = interaction.command.name if interaction.command else "command"
        ref_text = report_failure(log, f"discord /{name}")
        try:
            await _send_private(interaction, ref_text)
        except discord.HTTPException:
            log.warning("could not tell the user that /%s failed", name)


# ------------------------------------------------------------------------------ command sync


def _command_scopes(guild_ids: Sequence[int]) -> list[discord.Object | None]:
    return [discord.Object(g) for g in guild_ids] or [None]


def command_digest(tree: app_commands.CommandTree[Any], guild: discord.Object | None) -> str:
    """A hash of exactly what a sync to `guild` (None: global) would send."""
    if guild is not None:
        tree.copy_global_to(guild=guild)
    payload = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


async def sync_commands(
    client: MaximClient,
    storage: Storage,
    guild_ids: Sequence[int],
    *,
    force: bool = False,
) -> list[str]:
    """Sync the command tree to each guild of `guild_ids` (none: globally), where it changed.

    The hash of each scope's last synced payload is kept in storage, per application, so a
    restart does not sync again; `force` syncs anyway. Returns the scopes that were synced.
    Failures are logged and left for the next start unless `force` (then they raise).
    """
    synced: list[str] = []
    for guild in _command_scopes(guild_ids):
        scope = "global" if guild is None else str(guild.id)
        digest = command_digest(client.tree, guild)
        key = COMMAND_META_KEY.format(application=client.application_id, scope=scope)
        if not force and await storage.get_meta(key) == digest:
            log.debug("Discord commands for %s are up to date", scope)
            continue
        try:
            await client.tree.sync(guild=guild)
        except discord.HTTPException as err:
            if force:
                raise
            log.warning(
                "Discord: syncing commands to %s failed (HTTP %d, code %d)%s; trying again at "
                "the next start",
                scope,
                err.status,
                err.code,
                ": invite the bot with the applications.commands scope (maxim-bot discord invite)"
                if err.status == 403
                else "",
            )
            continue
        await storage.set_meta(key, digest)
        log.info("Discord: synced slash commands to %s", scope if guild else "all servers")
        synced.append(scope)
    return synced


# ------------------------------------------------------------------------------ daily posts


def nonce_for(key: str) -> str:
    """A message nonce for a daily post's key: a retry of the same post has the same one."""
    return hashlib.sha256(key.encode()).hexdigest()[:NONCE_LENGTH]


def _day_of(key: str) -> str:
    """The local date at the end of a post key (``...:2026-11-28``), or "" if there is none."""
    tail = key.rsplit(":", 1)[-1]
    try:
        return dt.date.fromisoformat(tail).isoformat()
    except ValueError:
        return ""


def post_error(err: discord.HTTPException) -> PostError:
    """The poster error for a failed Discord call (after discord.py's own retries)."""
    if isinstance(err, discord.Forbidden):
        reason = {50001: "missing access", 50013: "missing permissions"}.get(err.code, "forbidden")
        return ChannelUnavailable(f"{reason} ({err.code})")
    if isinstance(err, discord.NotFound):
        return ChannelUnavailable(f"unknown channel ({err.code})")
    if isinstance(err, discord.RateLimited):
        return RateLimited(err.retry_after)
    if err.status == 429:
        return RateLimited(1.0)
    return PostError(f"HTTP {err.status} ({err.code})")


class DiscordPoster:
    """Posts the maxim of the day with ``channel.send`` and a nonce Discord de-duplicates."""

    platform = PLATFORM

    def __init__(self, client: discord.Client | None = None) -> None:
        self.client = client  # set by the platform; replaced if it reconnects without an intent

    def _channel(self, channel: str) -> discord.PartialMessageable:
        if self.client is None or self.client.user is None:
            raise PostError("not signed in to Discord")
        if not channel.isdigit():
            raise ChannelUnavailable(f"not a Discord channel id: {channel[:30]}")
        return self.client.get_partial_messageable(int(channel))

    async def post(self, channel: str, maxim: Maxim, *, key: str) -> str:
        """Post and return the message id; Discord errors become `PostError`s."""
        target = self._channel(channel)
        try:
            message = await target.send(**render_daily(maxim, _day_of(key)), nonce=nonce_for(key))
        except discord.HTTPException as err:
            raise post_error(err) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise PostError(f"cannot reach Discord ({type(err).__name__})") from None
        return str(message.id)

    async def find_post(self, channel: str, key: str) -> str | None:
        """The id of a recent maxim-of-the-day post of ours for the key's date, if any."""
        day = _day_of(key)
        target = self._channel(channel)
        me = self.client.user.id if self.client and self.client.user else None
        if not day or me is None:
            return None
        try:
            async for message in target.history(limit=HISTORY_LIMIT):
                if message.author.id == me and any(is_daily_post(e, day) for e in message.embeds):
                    return str(message.id)
        except discord.HTTPException as err:
            raise post_error(err) from None
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise PostError(f"cannot reach Discord ({type(err).__name__})") from None
        return None


# ------------------------------------------------------------------------------ the platform


class DiscordPlatform:
    """Discord as a `Platform` of the runner."""

    name = PLATFORM

    def __init__(
        self,
        service: ChatService,
        config: DiscordConfig,
        secrets: Secrets,
        *,
        storage: Storage,
        healthy: HealthCheck = no_scheduler,
        guild_ready_timeout: float = 2.0,
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        self.service = service
        self.config = config
        self.secrets = secrets
        self.storage = storage  # where the hash of the last command sync is kept
        self._healthy = healthy
        self.guild_ready_timeout = guild_ready_timeout
        self.start_timeout = start_timeout
        self.handlers = DiscordHandlers(service, config)
        self.poster = DiscordPoster()
        self.client: MaximClient | None = None
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stopping = False

    def healthy(self) -> bool:
        """Connected and ready, and the rest of the bot (the scheduler) is healthy."""
        client = self.client
        return (
            client is not None and client.is_ready() and not client.is_closed() and self._healthy()
        )

    def _token(self) -> str:
        token = self.secrets.discord_token
        if token is None or not token.get_secret_value().strip():
            raise StartupError("Discord: DISCORD_TOKEN is empty: set it to the bot token")
        return token.get_secret_value()

    async def _signed_in_client(self, *, message_content: bool) -> MaximClient:
        client = build_discord_client(
            self.service,
            self.config,
            message_content=message_content,
            guild_ready_timeout=self.guild_ready_timeout,
            handlers=self.handlers,
        )

        async def on_ready() -> None:
            self._ready.set()
            log.info(
                "Discord: connected as %s to %d server(s)%s",
                client.user,
                len(client.guilds),
                "" if client.intents.message_content else " without Message Content",
            )

        client.event(on_ready)
        await sign_in(client, self._token(), self.config.api_base)
        self.client = client
        self.poster.client = client
        return client

    async def start(self) -> None:
        """Sign in, sync the commands if they changed, connect and wait until ready."""
        configure_endpoints(self.config)
        client = await self._signed_in_client(message_content=self.config.message_content)
        await sync_commands(client, self.storage, self.config.guild_ids)
        self._task = asyncio.get_running_loop().create_task(self._stay_connected(client))
        ready = asyncio.ensure_future(self._ready.wait())
        done, _ = await asyncio.wait(
            (ready, self._task), timeout=self.start_timeout, return_when=asyncio.FIRST_COMPLETED
        )
        ready.cancel()
        if self._task in done:
            self._task.result()  # raises the StartupError
            raise StartupError("Discord: the gateway connection ended during start-up")
        if not done:
            log.warning("Discord: not connected after %.0f s; still trying", self.start_timeout)

    async def _stay_connected(self, client: MaximClient) -> None:
        """Run the gateway connection; without Message Content if Discord refuses it."""
        while True:
            try:
                await client.connect(reconnect=True)
                return
            except discord.PrivilegedIntentsRequired:
                if not client.intents.message_content or self._stopping:
                    raise StartupError(FATAL_CLOSES[4014]) from None
                log.warning("%s", MESSAGE_CONTENT_REFUSED)
                await client.close()
                client = await self._signed_in_client(message_content=False)
                if self._stopping:
                    await client.close()
                    return
            except discord.ConnectionClosed as err:
                if self._stopping:
                    return
                raise StartupError(
                    FATAL_CLOSES.get(
                        err.code, f"Discord: the gateway closed the connection ({err.code})"
                    )
                ) from None

    async def wait(self) -> None:
        """Until the connection ends by itself (a fatal close raises `StartupError`)."""
        if self._task is not None:
            await asyncio.shield(self._task)

    async def stop(self) -> None:
        """Close the connection; work under way gets a moment to finish."""
        self._stopping = True
        if self.client is not None:
            await self.client.close()
        task, self._task = self._task, None
        if task is not None:
            done, _ = await asyncio.wait((task,), timeout=STOP_TIMEOUT)
            if not done:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


# ------------------------------------------------------------------------------ command line


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


async def invite_url(settings: Settings, client_id: int | None = None) -> str:
    """The OAuth2 URL that adds the bot to a server with its slash commands."""
    application = client_id if client_id is not None else await _application_id(settings)
    return discord.utils.oauth_url(
        application,
        permissions=invite_permissions(settings.discord),
        scopes=("bot", "applications.commands"),
    )


async def sync_commands_now(
    settings: Settings, service: ChatService, guild_id: int | None = None
) -> list[str]:
    """``maxim-bot discord sync``: sync to `guild_id`, else ``discord.guild_ids``, else globally.

    Signs in over REST only (no gateway); records the hashes so the next start does not sync
    again (in `service`'s storage). Returns one line per synced scope.
    """
    token = settings.secrets.discord_token
    if token is None:
        raise StartupError("Discord: set DISCORD_TOKEN to sync the slash commands")
    guild_ids = (guild_id,) if guild_id is not None else settings.discord.guild_ids
    configure_endpoints(settings.discord)
    client = build_discord_client(service, settings.discord)
    await sign_in(client, token.get_secret_value(), settings.discord.api_base)
    try:
        scopes = await sync_commands(client, service.storage, guild_ids, force=True)
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
