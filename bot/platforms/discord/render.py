"""Discord rendering: maxims as embeds, previews with buttons, help, lists and errors.

Pure functions from the core's replies to the keyword arguments of discord.py's send and edit
calls (``content``, ``embed``/``embeds``, ``view``, ``allowed_mentions``), so the adapter only
sends what these return. Every message carries ``AllowedMentions.none()``: the one mention we
write, "shared by <@user>", shows the name without pinging anyone.

Buttons carry their state in the custom id (``maxim_post:<user id>:<preview>``): they work after
a restart, in any process, and only for the person who asked. `PreviewButton` is a
`discord.ui.DynamicItem`, so discord.py routes every matching press to it without keeping a view
per message; what a press does is the adapter's business (`ButtonPress`).
"""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any, Protocol, runtime_checkable

import discord

from bot.cards import alt_text, card_filename
from bot.preview import (
    ACTION_CANCEL,
    ACTION_POST,
    ACTION_SHUFFLE,
    Preview,
    answer_notes,
    preview_notes,
    preview_of,
)
from maxims import ListReply, Maxim, MaximReply, Reply, TextReply

Message = dict[str, Any]  # keyword arguments for send_message, edit_message, channel.send

NO_MENTIONS = discord.AllowedMentions.none()
COLOUR = discord.Colour(0x2B9E8F)
CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
EMBEDS_TOTAL_LIMIT = 6000
CUSTOM_ID_LIMIT = 100
LIST_PREVIEW_WIDTH = 56  # 70 lines of this fit two embeds and Discord's 6,000-character total
LABELS = {ACTION_POST: "Post", ACTION_SHUFFLE: "Another", ACTION_CANCEL: "Cancel"}
DAILY_NOTE = "maxim of the day"
# Anything that starts like one of our buttons is ours to answer, even when it is malformed.
CUSTOM_ID = re.compile(r"(?P<action>maxim_[a-z]+)(?::(?P<user>[^:]*)(?::(?P<state>.*))?)?", re.S)


def escape(text: str) -> str:
    """Text that is not ours, with Discord Markdown made literal."""
    return discord.utils.escape_markdown(text)


def maxim_embed(maxim: Maxim, *notes: str, title: str = "") -> discord.Embed:
    """A maxim as an embed: ``#N`` as the title, the text, then tags and `notes` in the footer."""
    embed = discord.Embed(
        title=f"{title} · #{maxim.number}" if title else f"#{maxim.number}",
        description=escape(maxim.text),
        colour=COLOUR,
    )
    footer = " · ".join(part for part in (", ".join(maxim.tags), *notes) if part)
    if footer:
        embed.set_footer(text=footer)
    return embed


def render_maxim(maxim: Maxim, *notes: str) -> Message:
    """A maxim as a public message (a NaN answer, `/maxim` without preview)."""
    return {"embed": maxim_embed(maxim, *notes), "allowed_mentions": NO_MENTIONS}


def render_shared(maxim: Maxim, user_id: int) -> Message:
    """A maxim someone chose to post from their preview: "shared by @user", nobody pinged."""
    return {
        "content": f"shared by <@{user_id}>",
        "embed": maxim_embed(maxim),
        "allowed_mentions": NO_MENTIONS,
    }


THREAD_NAME_LIMIT = 100  # Discord's limit for a channel (and thread) name


def render_daily(maxim: Maxim, day: str = "") -> Message:
    """The maxim of the day; `day` (ISO date) in the footer lets `find_post` recognise it."""
    note = f"{DAILY_NOTE} · {day}" if day else DAILY_NOTE
    return {
        "embed": maxim_embed(maxim, note, title="Maxim of the day"),
        "allowed_mentions": NO_MENTIONS,
    }


def thread_name(maxim: Maxim) -> str:
    """A daily post's thread name: ``Maxim 34: If you’re seeing NaN…``, within Discord's 100."""
    name = f"Maxim {maxim.number}: {' '.join(maxim.text.split())}"
    return name if len(name) <= THREAD_NAME_LIMIT else name[: THREAD_NAME_LIMIT - 1] + "…"


def with_card(message: Message, maxim: Maxim, png: bytes) -> Message:
    """`message` with the maxim's card attached and shown as its embed's image.

    The embed keeps its title and footer (notes, and the daily post's date that `find_post`
    recognises) but drops the text, which the picture shows and the file's alt text
    (``description``) tells whoever cannot see it. Each call makes a new `discord.File`: a
    file is read once when sent, so a retry or a fall-back needs its own.
    """
    name = card_filename(maxim)
    embed = message["embed"].copy()
    embed.description = None
    embed.set_image(url=f"attachment://{name}")
    file = discord.File(io.BytesIO(png), filename=name, description=alt_text(maxim))
    return {**message, "embed": embed, "file": file}


def as_edit(message: Message) -> Message:
    """Keyword arguments of ``edit_message`` for a card preview replacing the one shown.

    An edit takes ``attachments``, and a list there replaces the message's files: the new
    card, or none when the text stands in for it (a new ``file`` would join the old card).
    """
    edit = dict(message)
    file = edit.pop("file", None)
    return {**edit, "attachments": [file] if file is not None else []}


def with_note(message: Message, note: str) -> Message:
    """`message` with one line of ours above it (why a card came as text)."""
    content = message.get("content")
    return {**message, "content": f"{note}\n{content}" if content else note}


def is_daily_post(embed: discord.Embed, day: str) -> bool:
    """Whether `embed` is our maxim of the day for `day` (see `render_daily`)."""
    return bool(day) and (embed.footer.text or "").endswith(f"{DAILY_NOTE} · {day}")


# ------------------------------------------------------------------------------ buttons


@dataclasses.dataclass(frozen=True)
class ButtonPress:
    """What a preview button says: the action, who may press it, and the preview's state.

    The state is decoded by `ChatService.preview` (it needs the corpus), not here.
    """

    action: str
    user: str
    encoded: str


def custom_id(action: str, user_id: int, preview: Preview) -> str:
    """``action:user:preview`` within Discord's 100 characters (long searches lose words)."""
    prefix = f"{action}:{user_id}:"
    words = list(preview.words)
    encoded = preview.encode()
    while len(prefix) + len(encoded) > CUSTOM_ID_LIMIT and words:
        words.pop()
        encoded = dataclasses.replace(preview, words=tuple(words)).encode()
    return (prefix + encoded)[:CUSTOM_ID_LIMIT]


def parse_custom_id(value: str) -> ButtonPress | None:
    """The press a custom id describes; None if it is not one of ours at all."""
    match = CUSTOM_ID.fullmatch(value)
    if match is None:
        return None
    return ButtonPress(match["action"], match["user"] or "", match["state"] or "")


@runtime_checkable
class ButtonHandler(Protocol):
    """A client that answers preview buttons (the adapter's `MaximClient`)."""

    async def on_preview_button(
        self, interaction: discord.Interaction[Any], custom_id: str
    ) -> None:
        """Answer one press of a preview button."""
        ...


class PreviewButton(
    discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
    template=CUSTOM_ID,
):
    """A Post / Another / Cancel button; a press goes to the client's ``on_preview_button``."""

    def __init__(self, button: discord.ui.Button[discord.ui.View]) -> None:
        super().__init__(button)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> PreviewButton:
        """Wrap the pressed button as it is (the state is read in `callback`)."""
        custom = match.string
        if isinstance(item, discord.ui.Button):
            return cls(item)
        return cls(discord.ui.Button(label="?", custom_id=custom))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Hand the press to the adapter."""
        client = interaction.client
        if isinstance(client, ButtonHandler):
            await client.on_preview_button(interaction, self.custom_id)


def preview_view(preview: Preview, user_id: int) -> discord.ui.View:
    """Post / Another / Cancel, each carrying the preview; "Another" only where there is one."""
    actions = [ACTION_POST, ACTION_SHUFFLE, ACTION_CANCEL]
    if not preview.can_shuffle:
        actions.remove(ACTION_SHUFFLE)
    view = discord.ui.View(timeout=None)
    for action in actions:
        style = (
            discord.ButtonStyle.primary if action == ACTION_POST else discord.ButtonStyle.secondary
        )
        button: discord.ui.Button[discord.ui.View] = discord.ui.Button(
            label=LABELS[action], style=style, custom_id=custom_id(action, user_id, preview)
        )
        view.add_item(PreviewButton(button))
    return view


# ------------------------------------------------------------------------------ replies


def render_preview(preview: Preview, user_id: int) -> Message:
    """The private preview with its buttons."""
    return {
        "embed": maxim_embed(preview.maxim, *preview_notes(preview, escape)),
        "view": preview_view(preview, user_id),
        "allowed_mentions": NO_MENTIONS,
    }


def render_answer(reply: MaximReply) -> Message:
    """A maxim answer posted at once (no preview): the first match, and a hint for searches."""
    return render_maxim(reply.maxims[0], *answer_notes(reply))


def render_list(reply: ListReply) -> Message:
    """Every maxim, numbered, with a short preview of each, over as few embeds as fit."""
    lines = [f"**{m.number}.** {escape(m.preview(LIST_PREVIEW_WIDTH))}" for m in reply.maxims]
    chunks: list[list[str]] = [[]]
    size = 0
    for line in lines:
        if chunks[-1] and size + len(line) + 1 > DESCRIPTION_LIMIT:
            chunks.append([])
            size = 0
        chunks[-1].append(line)
        size += len(line) + 1
    embeds = [discord.Embed(description="\n".join(chunk), colour=COLOUR) for chunk in chunks]
    embeds[0].title = f"The {len(reply.maxims)} maxims"
    return {"embeds": embeds[:10], "allowed_mentions": NO_MENTIONS}


def render_text(reply: TextReply) -> Message:
    """Help, notices and errors: our words, possibly quoting safe-echoed user input."""
    if reply.status == "help":
        body = reply.text.replace("`", "")
        return {"content": f"```\n{body}\n```"[:CONTENT_LIMIT], "allowed_mentions": NO_MENTIONS}
    icon = {"error": "⚠️ ", "not_found": "🔎 "}.get(reply.status, "")
    return {"content": (icon + reply.text)[:CONTENT_LIMIT], "allowed_mentions": NO_MENTIONS}


def render_reply(reply: Reply, *, preview: bool, user_id: int) -> Message:
    """Any reply to `/maxim`: maxims become a private preview when `preview` is set.

    Whether it is for the asker alone is `bot.preview.is_private`'s to say, not the renderer's.
    """
    if isinstance(reply, MaximReply):
        if preview:
            return render_preview(preview_of(reply), user_id)
        return render_answer(reply)
    if isinstance(reply, ListReply):
        return render_list(reply)
    if isinstance(reply, TextReply):
        return render_text(reply)
    raise TypeError(f"cannot render {type(reply).__name__}")


def render_notice(text: str) -> Message:
    """A line of ours for the asker alone (stale buttons, refusals, apologies)."""
    return {"content": text[:CONTENT_LIMIT], "allowed_mentions": NO_MENTIONS}
