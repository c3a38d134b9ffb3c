"""Block Kit rendering for Slack: maxims, previews with buttons, help, lists, errors, Home tab.

Pure functions from the core's replies to Slack message dicts (``text`` plus ``blocks``), so
the adapter only sends what these return. Everything that is not ours (maxim texts, search
words, anything echoed from a user) goes through `escape`: Slack's mrkdwn turns ``<...>`` into
links and mentions, so an unescaped ``<!channel>`` in user text would ping a whole channel.
The only mention we ever write is ``<@USER>`` for the person who pressed Send, and only when
the id looks like a Slack user id.

With the public pages (`PublicPages`, ``web.public_url``) a card is an ``image`` block of
``/cards/N.png`` rather than an upload, and a maxim's context line links to its page.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from bot.cards import alt_text
from bot.daily.commands import describe_next_post
from bot.preview import (
    ACTION_CANCEL,
    ACTION_POST,
    ACTION_SHUFFLE,
    Preview,
    answer_notes,
    preview_notes,
    preview_of,
)
from maxims import ListReply, Maxim, MaximReply, Reply, TextReply, render_help
from maxims.weekdays import EVERY_DAY, describe_days

if TYPE_CHECKING:
    from bot.platforms.slack.links import PublicPages
    from bot.storage.records import Subscription

Block = dict[str, Any]
Message = dict[str, Any]  # keyword arguments for chat.postMessage, ack() or respond()

SECTION_LIMIT = 3000  # Slack rejects a section whose text is longer
FALLBACK_LIMIT = 3000  # notifications show far less; keep the fallback short
ALT_TEXT_LIMIT = 2000  # Slack refuses an image block whose alt_text is longer
_USER_ID = re.compile(r"[UW][A-Z0-9]{1,20}")
_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{1,20}")
ACTION_HOME_SHUFFLE = "maxim_home_shuffle"  # not the preview's Shuffle: no response_url here
HOME_POSTS_SHOWN = 20  # daily posts listed on the Home tab; the rest are counted
THREAD_INVITE = ":speech_balloon: Reply in the thread to talk about it"  # thread = true
DAILY_HEADING = ":calendar: *Maxim of the day*"  # a daily post's heading, or a card's comment
CARD_ON_SEND = ":frame_with_picture: Send shares this maxim as an image card"
DM_HINT = "Send me any of these in Messages, with or without `/maxim`, and I answer there."


def escape(text: str) -> str:
    """Slack's three control characters as entities: no links, mentions or broadcasts."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str) -> str:
    """``<@U123>`` for a real-looking user id, else nothing (never a pasted-in mention)."""
    return f"<@{user_id}>" if _USER_ID.fullmatch(user_id) else "someone"


def _quote(text: str) -> str:
    return "\n".join(f">{escape(line)}" for line in text.splitlines() or [""])


def _context(*parts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(parts)}]}


def describe(maxim: Maxim) -> str:
    """``*Maxim 34* · nan, learning-rate``: the number and tags of a maxim, as mrkdwn."""
    tags = ", ".join(escape(tag) for tag in maxim.tags)
    return f"*Maxim {maxim.number}*" + (f" · {tags}" if tags else "")


def fallback(maxim: Maxim, prefix: str = "") -> str:
    """The plain ``text`` of a maxim message: what notifications and screen readers show."""
    return escape(f"{prefix}Maxim {maxim.number}: {maxim.text}")[:FALLBACK_LIMIT]


def card_block(maxim: Maxim, pages: PublicPages) -> Block:
    """The card as an image Slack fetches from the public pages, the maxim's words its alt text.

    Plain text, so nothing in it is a mention; cut to Slack's limit, whatever the maxim.
    """
    alt = alt_text(maxim)
    if len(alt) > ALT_TEXT_LIMIT:
        alt = alt[: ALT_TEXT_LIMIT - 1] + "…"
    return {"type": "image", "image_url": pages.card(maxim), "alt_text": alt}


def page_link(maxim: Maxim, pages: PublicPages) -> str:
    """``<https://…/maxims/34|maxims.example.org/maxims/34>``: the maxim's page, as mrkdwn.

    The address is shown without its scheme; ``|`` and Slack's control characters in it
    (the operator's ``public_url``) cannot end the link early.
    """
    url = escape(pages.page(maxim)).replace("|", "%7C")
    shown = url.split("://", 1)[-1]
    return f"<{url}|{shown}>"


def maxim_blocks(
    maxim: Maxim,
    *notes: str,
    heading: str = "",
    pages: PublicPages | None = None,
    card: bool = False,
) -> list[Block]:
    """A maxim as a quote, then its number, tags and any `notes` (mrkdwn, ours) in context.

    With `pages`, the context ends with the maxim's link, and a `card` is shown as its image
    instead of the quote.
    """
    blocks: list[Block] = []
    if heading:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": heading}})
    if card and pages is not None:
        blocks.append(card_block(maxim, pages))
    else:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _quote(maxim.text)}})
    links = (page_link(maxim, pages),) if pages is not None else ()
    blocks.append(_context(describe(maxim), *notes, *links))
    return blocks


def render_maxim(
    maxim: Maxim, *notes: str, pages: PublicPages | None = None, card: bool = False
) -> Message:
    """A maxim as a public message (a mention's answer, a NaN answer); see `maxim_blocks`."""
    return {"text": fallback(maxim), "blocks": maxim_blocks(maxim, *notes, pages=pages, card=card)}


def render_shared(
    maxim: Maxim, user_id: str, *, pages: PublicPages | None = None, card: bool = False
) -> Message:
    """A maxim someone chose to post from their preview: "shared by @user"; see `maxim_blocks`."""
    notes = f"shared by {mention(user_id)}"
    return {
        "text": fallback(maxim),
        "blocks": maxim_blocks(maxim, notes, pages=pages, card=card),
    }


def render_daily(maxim: Maxim, *, thread: bool = False) -> Message:
    """The maxim of the day; with `thread`, a context line inviting replies in its thread.

    Slack threads need no setup: every message has one, so the invitation is the whole
    feature (the bot posts nothing else there).
    """
    notes = (THREAD_INVITE,) if thread else ()
    return {
        "text": fallback(maxim, "Maxim of the day. "),
        "blocks": maxim_blocks(maxim, *notes, heading=DAILY_HEADING),
    }


def daily_card_comment(*, thread: bool = False) -> str:
    """The comment a daily card is shared with: the heading, and the invitation if asked."""
    return f"{DAILY_HEADING} · {THREAD_INVITE}" if thread else DAILY_HEADING


def render_preview(preview: Preview, pages: PublicPages | None = None) -> Message:
    """The private preview: the maxim and Send / Shuffle / Cancel buttons carrying its state.

    With `pages` a card preview shows the card itself, as Send will share it.
    """
    notes = [*preview_notes(preview, escape), "only you can see this"]
    if preview.card:
        notes.insert(0, CARD_ON_SEND)
    value = preview.encode()
    buttons: list[Block] = [_button("Send", ACTION_POST, value, style="primary")]
    if preview.can_shuffle:
        buttons.append(_button("Shuffle", ACTION_SHUFFLE, value))
    buttons.append(_button("Cancel", ACTION_CANCEL, value))
    blocks = maxim_blocks(preview.maxim, *notes, pages=pages, card=preview.card)
    blocks.append({"type": "actions", "block_id": "maxim_preview", "elements": buttons})
    return {"text": fallback(preview.maxim, "Preview. "), "blocks": blocks}


def _button(label: str, action_id: str, value: str, *, style: str = "") -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


def _sections(lines: list[str]) -> list[Block]:
    """Lines packed into as few sections as Slack's 3,000-character limit allows."""
    blocks: list[Block] = []
    chunk: list[str] = []
    size = 0
    for line in lines:
        if chunk and size + len(line) + 1 > SECTION_LIMIT:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(chunk)}})
    return blocks


def render_list(reply: ListReply) -> Message:
    """Every maxim, numbered, with a short preview of each."""
    lines = [f"*{m.number}.* {escape(m.preview(70))}" for m in reply.maxims]
    return {
        "text": f"All {len(reply.maxims)} maxims",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "The Seventy Maxims"}},
            *_sections(lines),
        ],
    }


def render_text(reply: TextReply) -> Message:
    """Help, notices and errors: our words, possibly quoting safe-echoed user input."""
    if reply.status == "help":
        body = escape(reply.text.replace("`", ""))
        return {
            "text": escape((reply.text.splitlines() or ["Help"])[0]),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"```{body}```"}}],
        }
    text = escape(reply.text)[:SECTION_LIMIT]
    icon = {"error": ":warning: ", "not_found": ":mag: "}.get(reply.status, "")
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": icon + text}}],
    }


def render_reply(reply: Reply, *, preview: bool, pages: PublicPages | None = None) -> Message:
    """Any reply to `/maxim`; maxims become a preview when `preview` is set.

    `pages`: the public pages, for a card's image and a maxim's link (`maxim_blocks`).
    """
    if isinstance(reply, MaximReply):
        if preview:
            return render_preview(preview_of(reply), pages)
        return render_answer(reply, pages=pages)
    if isinstance(reply, ListReply):
        return render_list(reply)
    if isinstance(reply, TextReply):
        return render_text(reply)
    raise TypeError(f"cannot render {type(reply).__name__}")


def render_answer(
    reply: MaximReply, card_note: str = "", *, pages: PublicPages | None = None
) -> Message:
    """A maxim answer posted at once (no preview): the first match, with a hint for searches.

    `card_note` says why a card asked for went out as this text instead; with `pages` a card
    is its image (`maxim_blocks`).
    """
    notes = [*answer_notes(reply), card_note] if card_note else answer_notes(reply)
    card = reply.card and not card_note
    return render_maxim(reply.maxims[0], *notes, pages=pages, card=card)


def channel_link(channel_id: str) -> str:
    """``<#C123>`` (a link; it pings nobody) for a real-looking channel id, else the id, escaped."""
    return f"<#{channel_id}>" if _CHANNEL_ID.fullmatch(channel_id) else escape(channel_id)


def render_home(
    preview: Preview,
    zone: str,
    posts: list[Subscription] | None,
    stats: str | None = None,
    *,
    now: dt.datetime | None = None,
) -> Message:
    """The Home tab: a maxim with Shuffle, the person's daily posts, stats, the commands.

    `stats` is the workspace's `/maxim stats` text (None where nothing is counted).
    `preview` is today's maxim (kind ``today``) or a shuffled one; the Shuffle button carries
    it, so the next click needs no state. `posts` is None when the channels could not be listed.
    With `now`, each post that is not failing names its next post as `/maxim daily` does
    (``next: Sat 05 Dec 09:00 Europe/Berlin``): with chosen days, "daily at 09:00" alone
    does not say whether tomorrow has one.
    """
    if preview.kind == "today":
        heading = f":calendar: *Your maxim of the day* · your time zone: {escape(zone)}"
    else:
        heading = ":game_die: *Another maxim* · open Home again for today’s"
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "The Seventy Maxims"}},
        *maxim_blocks(preview.maxim, heading=heading),
        {
            "type": "actions",
            "block_id": "maxim_home",
            "elements": [_button("Shuffle", ACTION_HOME_SHUFFLE, preview.encode())],
        },
        {"type": "divider"},
        _mrkdwn("*Daily posts in your channels*"),
        *_sections(_post_lines(posts, now)),
        *(
            [{"type": "divider"}, *render_text(TextReply(stats, "stats"))["blocks"]]
            if stats
            else []
        ),
        {"type": "divider"},
        _mrkdwn("*Commands*"),
        *render_text(TextReply(render_help(), "help"))["blocks"],
        _context(DM_HINT),
    ]
    return {"type": "home", "callback_id": "maxim_home", "blocks": blocks}


def _mrkdwn(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _post_lines(posts: list[Subscription] | None, now: dt.datetime | None) -> list[str]:
    if posts is None:
        return ["I couldn’t list your channels just now: open Home again in a minute."]
    if not posts:
        return [
            "None of your channels has a daily post. In a channel with me, an admin can start "
            "one with `/maxim daily 09:00 Area/City`."
        ]
    lines = [
        f"{channel_link(post.channel)} · daily at {post.time:%H:%M} {escape(post.timezone)}"
        + ("" if post.days == EVERY_DAY else f" · {describe_days(post.days)}")
        + (" · :warning: posting is failing" if post.failing else _next(post, now))
        for post in posts[:HOME_POSTS_SHOWN]
    ]
    if len(posts) > HOME_POSTS_SHOWN:
        lines.append(f"…and {len(posts) - HOME_POSTS_SHOWN} more")
    return lines


def _next(post: Subscription, now: dt.datetime | None) -> str:
    return "" if now is None else f" · next: {escape(describe_next_post(post, now))}"
