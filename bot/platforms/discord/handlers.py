"""What the bot does for each `/maxim`, `/maxim-daily`, preview button and message on Discord.

Each handler pulls plain values out of the interaction or message, makes one `ChatService`
call and sends what `bot.platforms.discord.render` returns. Errors end at two boundaries:
discord.py's ``on_error`` for events and ``CommandTree.on_error`` for commands, both logging a
reference the user sees instead of a traceback.

A card (``/maxim card 34``) is the same message with its PNG attached (`with_card`), sent
only where the interaction's ``app_permissions`` include Attach Files; elsewhere, or when
Discord refuses the file, the text form goes out once with a one-line note (`_send_maxim`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import AppInstallationType

from bot import ops
from bot.chat import ACK_DEADLINE, ChatService, Origin, in_time
from bot.log import report_failure
from bot.platforms.discord import PLATFORM, compat
from bot.platforms.discord.daily_options import Style, daily_query
from bot.platforms.discord.render import (
    Message,
    as_edit,
    parse_custom_id,
    render_maxim,
    render_notice,
    render_preview,
    render_reply,
    render_shared,
    render_text,
    with_card,
    with_note,
)
from bot.platforms.discord.uploads import NO_ATTACH_FILES, can_attach, send_card
from bot.preview import (
    ACTION_CANCEL,
    ACTION_POST,
    ACTION_SHUFFLE,
    ACTIONS,
    STALE_PREVIEW,
    is_private,
)
from maxims import MaximReply, TextReply, parse_query
from maxims.query import changes_daily, not_a_day
from maxims.suggest import NAME_LENGTH, suggest_days, suggest_zones
from maxims.weekdays import DaysError

if TYPE_CHECKING:
    from bot.config import DiscordConfig
    from bot.preview import Preview
    from maxims import Maxim, Reply

log = logging.getLogger(__name__)

NOT_YOURS = "Only the person who asked can use these buttons: run `/maxim` for your own."
CANNOT_POST = (
    "I can’t post in this channel: ask someone with Manage Channels to let me View Channel, "
    "Send Messages and Embed Links here."
)
SLOW_DOWN = "Discord asked me to slow down in this channel: press **Post** again in a minute."
NOT_YOURS_TO_POST = (
    "You can’t send messages here yourself, so I won’t post it for you: share it in a channel "
    "where you can write."
)
NOT_YOUR_DM = "I only post in your own DM with me: press **Post** there, or in a server channel."
NOT_A_MEMBER_DAILY = (
    "I’m not in this channel, so I can’t post a maxim here every day: add me to a server "
    "(the first link of `maxim-bot discord invite`) and set the daily post in its channel."
)
_HUMAN_MESSAGES = frozenset({discord.MessageType.default, discord.MessageType.reply})


def bot_in_channel(interaction: discord.Interaction[Any]) -> bool:
    """Whether the bot itself is in the interaction's channel, so it may send messages there.

    A user install reaches places the bot never joined: other people's DMs and group DMs
    (context 2) and servers without the bot. There ``POST /channels/{id}/messages`` fails
    (403 Missing Access), so the bot answers through the interaction alone. It is in the
    channel when a server install authorised the interaction, for this very server (0 in a
    DM with the bot), and the server is one the bot is in (its client knows it).
    """
    if interaction.context.private_channel:
        return False
    server_install = compat.integration_owners(interaction).get(AppInstallationType.GUILD)
    if server_install is None:  # a user install alone, even in a DM with the bot
        return False
    if interaction.guild_id is None:
        return True
    return (
        server_install == interaction.guild_id
        and interaction.client.get_guild(interaction.guild_id) is not None
    )


def may_post_here(interaction: discord.Interaction[Any]) -> bool:
    """Whether the presser could send this message themselves (the bot posts it in their name).

    In a server, with the bot or not, that is Discord's own computation of their permissions
    in the channel (Send Messages, or Send Messages in Threads inside a thread). A DM with the
    bot must be the presser's own. In someone's DM or group DM reached by a user install, the
    post is the presser's own answer to their own command, shown as theirs; Discord alone
    decides whether they may use apps there (it does not tell the bot their permissions).
    """
    channel = interaction.channel
    if interaction.guild_id is None:
        if interaction.context.private_channel:
            return True
        recipient = channel.recipient if isinstance(channel, discord.DMChannel) else None
        return recipient is not None and recipient.id == interaction.user.id
    permissions = interaction.permissions
    if isinstance(channel, discord.Thread):
        return permissions.send_messages_in_threads
    return permissions.send_messages


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
        self,
        interaction: discord.Interaction[Any],
        time: str | None,
        zone: str | None,
        days: str | None = None,
        style: Style | None = None,
        thread: bool | None = None,
    ) -> None:
        """`/maxim-daily` and its options, read as `/maxim daily 09:00 Area/City mon-fri card`."""
        try:
            text = daily_query(time, zone, days, style, thread)
        except DaysError as err:  # nothing changes; the one line that says what works
            error = render_text(TextReply(not_a_day(err), "error"))
            await interaction.response.send_message(**error, ephemeral=True)
            return
        await self._answer(interaction, text)

    async def _answer(self, interaction: discord.Interaction[Any], text: str) -> None:
        since = ops.started()
        origin = origin_of(interaction)
        if changes_daily(parse_query(text)) and not bot_in_channel(interaction):
            # The daily post goes through the channel, where the bot cannot send.
            await _send_private(interaction, NOT_A_MEMBER_DAILY)
            return

        async def is_admin() -> bool:
            if interaction.guild_id is None:
                return True  # a DM with the bot: the asker's own channel
            # default_member_permissions only hides the command; a server can change that.
            permissions = interaction.permissions
            return bool(permissions.manage_channels or permissions.administrator)

        async def reply_and_card() -> Reply:
            reply = await self.service.command(origin, text, is_admin)
            card = _card_of(reply)
            if card is not None and can_attach(interaction):
                # Drawn within the acknowledgement's race (then cached for the send below).
                await self.service.cards.png(card)
            return reply

        work, done = await in_time(reply_and_card(), self.ack_deadline)
        if not done:
            # Private by default: previews, lists and errors are private anyway.
            await interaction.response.defer(ephemeral=self.config.preview, thinking=True)
        reply = await work
        private = is_private(reply, preview=self.config.preview)
        message = render_reply(reply, preview=self.config.preview, user_id=interaction.user.id)

        async def send(**kwargs: Any) -> None:
            if interaction.response.is_done():
                await interaction.followup.send(**kwargs, ephemeral=private)
            else:
                await interaction.response.send_message(**kwargs, ephemeral=private)

        await self._send_maxim(interaction, send, message, _card_of(reply), "/maxim")
        ops.record_reply(PLATFORM, reply, since)

    async def _send_maxim(
        self,
        interaction: discord.Interaction[Any],
        send: Callable[..., Awaitable[Any]],
        message: Message,
        card: Maxim | None,
        where: str,
        *,
        edit: bool = False,
        note_apart: bool = False,
    ) -> str | None:
        """Send `message`, as `card`'s card when there is one; the note when text stood in.

        Without Attach Files here (the interaction's ``app_permissions``), or when Discord
        refuses the file (`send_card`), the text form goes out once, with the note as its
        first line, or (`note_apart`, a public post) without it, for the caller to tell the
        asker alone. `edit` shapes the card and the text for ``edit_message`` (`as_edit`).
        """
        if card is None:
            await send(**message)
            return None

        def text(note: str) -> Message:
            shown = message if note_apart else with_note(message, note)
            return as_edit(shown) if edit else shown

        if not can_attach(interaction):
            await send(**text(NO_ATTACH_FILES))
            return NO_ATTACH_FILES
        carded = with_card(message, card, await self.service.cards.png(card))
        _, note = await send_card(
            send, as_edit(carded) if edit else carded, text, f"discord {where}"
        )
        return note

    def query_choices(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete of `/maxim query` (see `maxims.suggest.suggest_queries`)."""
        return self._choices(lambda: self.service.suggest(current))

    def zone_choices(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete of `/maxim-daily zone` (see `suggest_zones`)."""
        return self._choices(lambda: suggest_zones(current))

    def days_choices(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete of `/maxim-daily days` (see `suggest_days`)."""
        return self._choices(lambda: suggest_days(current))

    def _choices(
        self, suggest: Callable[[], list[tuple[str, str]]]
    ) -> list[app_commands.Choice[str]]:
        try:
            pairs = suggest()
        except Exception:
            report_failure(log, "discord autocomplete")  # Discord shows "no options"; we log
            return []
        return [app_commands.Choice(name=name[:NAME_LENGTH], value=value) for name, value in pairs]

    # ---------------------------------------------------------------- buttons

    async def on_button(self, interaction: discord.Interaction[Any], custom_id: str) -> None:
        """Post / Another / Cancel on a preview; only the asker may press them.

        Post also needs the presser to be allowed to write in the channel (`may_post_here`):
        the bot's permissions must not let someone post where they could not themselves.
        """
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
            await self._send_maxim(
                interaction,
                interaction.response.edit_message,
                render_preview(following, interaction.user.id),
                following.maxim if following.card else None,
                "preview",
                edit=True,
            )
        elif press.action == ACTION_CANCEL:
            await interaction.response.defer()
            await interaction.delete_original_response()
        elif press.action == ACTION_POST:
            await self._post(interaction, preview)
        else:
            await _send_private(interaction, STALE_PREVIEW)

    async def _post(self, interaction: discord.Interaction[Any], preview: Preview) -> None:
        maxim = preview.maxim
        card = maxim if preview.card else None
        if not may_post_here(interaction):
            refusal = NOT_YOUR_DM if interaction.guild_id is None else NOT_YOURS_TO_POST
            await _send_private(interaction, refusal)
            return
        if not bot_in_channel(interaction):
            await self._post_through_interaction(interaction, maxim, card)
            return
        channel = interaction.channel
        if not isinstance(channel, discord.abc.Messageable):
            await _send_private(interaction, CANNOT_POST)
            return
        await interaction.response.defer()
        try:
            note = await self._send_maxim(
                interaction,
                channel.send,
                render_shared(maxim, interaction.user.id),
                card,
                f"channel {interaction.channel_id}",
                note_apart=True,
            )
        except (discord.Forbidden, discord.NotFound) as err:
            log.warning(
                "cannot post maxim %d in %s (%s)", maxim.number, interaction.channel_id, err.code
            )
            await interaction.followup.send(**render_notice(CANNOT_POST), ephemeral=True)
            return
        except discord.RateLimited as limit:
            log.warning("rate-limited for %.0f s in %s", limit.retry_after, interaction.channel_id)
            await interaction.followup.send(**render_notice(SLOW_DOWN), ephemeral=True)
            return
        log.info("maxim %d shared on discord in %s", maxim.number, interaction.channel_id)
        self.service.shared(origin_of(interaction), maxim)
        if note is not None:
            await interaction.followup.send(**render_notice(note), ephemeral=True)
        with contextlib.suppress(discord.NotFound):
            await interaction.delete_original_response()

    async def _post_through_interaction(
        self, interaction: discord.Interaction[Any], maxim: Maxim, card: Maxim | None
    ) -> None:
        """Post as a public follow-up of the press, where the bot is not in the channel.

        Deferring the press as an update keeps the preview its original response, so the
        preview can still be deleted afterwards (a public answer to the press itself would
        take that place, and an ephemeral preview cannot be deleted any other way).
        """
        await interaction.response.defer()
        note = await self._send_maxim(
            interaction,
            interaction.followup.send,
            render_shared(maxim, interaction.user.id),
            card,
            "a follow-up",
            note_apart=True,
        )
        log.info("maxim %d shared on discord through the interaction", maxim.number)
        self.service.shared(origin_of(interaction), maxim)
        if note is not None:
            await interaction.followup.send(**render_notice(note), ephemeral=True)
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
        except discord.RateLimited as limit:  # the answer would come minutes late: drop it
            log.warning("rate-limited for %.0f s in %s", limit.retry_after, message.channel.id)
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


def _card_of(reply: Reply) -> Maxim | None:
    """The maxim to show as a card, when the reply asked for one (``/maxim card 34``)."""
    return reply.maxims[0] if isinstance(reply, MaximReply) and reply.card else None
