"""Send: sharing a previewed maxim, or its card, in the channel for the person who asked.

Split from `bot.platforms.slack.listeners`, which registers the button and spawns `send`.

With the public pages (``web.public_url``, `PublicPages`) a card goes out as one message whose
``image`` block Slack fetches from ``/cards/N.png``: no upload, no ``files:write``. A shared
maxim then carries its page's link. Where no image shows the card, that link unfurls
(``unfurl_links``) into the page's card; where an image block does, it does not, so the card
never shows twice. Without public pages, cards are uploaded (`bot.platforms.slack.cards`).

Slack downloads an image block's picture as the message is posted; where it cannot (the pages
are down, or unreachable from Slack) it refuses the whole message (``invalid_blocks``). The
card is then uploaded as without the pages, with one WARNING line: nobody is left without it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_bolt.async_app import AsyncBoltContext, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cards import CardCache
from bot.chat import ChatService, Origin
from bot.platforms.slack.cards import UNSURE_NOTE, Unsure, share_card
from bot.platforms.slack.links import PublicPages
from bot.platforms.slack.render import (
    Message,
    mention,
    render_answer,
    render_maxim,
    render_shared,
)
from bot.platforms.slack.web import CHANNEL_GONE, PLATFORM, error_code
from bot.preview import STALE_PREVIEW, Preview, answer_notes
from maxims import MaximReply

log = logging.getLogger(__name__)

# SlackListeners._post_response: (respond, **message) -> whether Slack took the message
Respond = Callable[..., Awaitable[bool]]
IMAGE_REFUSED = "invalid_blocks"  # Slack's answer when it cannot download an image block's URL


def has_image(message: Message) -> bool:
    """Whether `message` shows a card as an image block."""
    return any(block.get("type") == "image" for block in message.get("blocks") or ())


def image_refused(err: SlackApiError, message: Message, channel: str) -> bool:
    """Whether Slack refused `message` for its card image; logged once, as a WARNING."""
    if error_code(err) != IMAGE_REFUSED or not has_image(message):
        return False
    log.warning(
        "Slack: refused the card image of web.public_url in %s (%s: is the web server "
        "reachable from Slack?): uploading the card instead",
        channel,
        IMAGE_REFUSED,
    )
    return True


def private(text: str, *, replace: bool = False) -> dict[str, Any]:
    """A response_url message only the person who clicked sees (never public by accident)."""
    return {"text": text, "response_type": "ephemeral", "replace_original": replace}


def stored_scopes(context: AsyncBoltContext) -> Sequence[str] | None:
    """The bot scopes an OAuth installation stored for the request's workspace.

    Only for OAuth: Bolt learns a single token's scopes once, at the first request, so after
    the operator adds ``files:write`` they would be stale until a restart; there Slack's own
    ``missing_scope`` decides.
    """
    result = context.authorize_result
    return result.bot_scopes if result is not None else None


async def post_card_answer(
    client: AsyncWebClient,
    cards: CardCache,
    channel: str,
    reply: MaximReply,
    *,
    thread: str | None,
    scopes: Sequence[str] | None = None,
    pages: PublicPages | None = None,
) -> None:
    """A card asked for where the answer goes out at once: a mention's thread, a direct message.

    With `pages`, one message with the card's image and the answer's notes. Otherwise (or
    where Slack cannot fetch the image) the card is uploaded, the notes ("more matches: 5, 8")
    its comment; where Slack refuses it, the text form with the reason as a note, once; cut
    off mid-upload, nothing more (the card may be there).
    """
    if pages is not None:
        message = render_answer(reply, pages=pages)
        try:
            await client.chat_postMessage(
                channel=channel,
                thread_ts=thread,
                unfurl_links=False,  # the image is the card: its page's link must not add another
                unfurl_media=False,
                **message,
            )
            return
        except SlackApiError as err:
            if not image_refused(err, message, channel):
                raise
    comment = " · ".join(answer_notes(reply))
    try:
        note = await share_card(
            client, cards, channel, reply.maxims[0], comment=comment, scopes=scopes, thread=thread
        )
    except Unsure as unsure:
        log.warning("Slack: card upload to %s cut off (%s)", channel, unsure.reason)
        return
    if note is not None:
        await client.chat_postMessage(
            channel=channel, thread_ts=thread, unfurl_links=False, **render_answer(reply, note)
        )


class Sharing:
    """The Send button's work, after Bolt's acknowledgement."""

    def __init__(
        self, service: ChatService, respond: Respond, pages: PublicPages | None = None
    ) -> None:
        self.service = service
        self.respond = respond
        self.pages = pages

    async def send(
        self,
        client: AsyncWebClient,
        value: str,
        user: str,
        channel: str,
        respond: AsyncRespond,
        scopes: Sequence[str] | None = None,
        workspace: str = "",
    ) -> None:
        """Share the preview `value` in `channel` for `user`, then drop (or note on) the preview.

        A share is counted for `workspace`'s stats once the maxim is out.

        With public pages a card is an image block and a text share links to the maxim's page,
        unfurled (see the module docstring). Without, a card is uploaded (`share_card`); where
        Slack refuses it, the text goes out instead and the preview becomes a one-line note
        saying why. Cut off mid-upload, nothing else is posted: the card may be in the channel
        already.
        """
        preview = self.service.preview(value)
        if preview is None:
            await self.respond(respond, **private(STALE_PREVIEW, replace=True))
            return
        pages = self.pages
        if preview.card and pages is not None:
            message = render_shared(preview.maxim, user, pages=pages, card=True)
            if await self._post_shared(client, channel, message, respond, unfurl=False):
                await self._done(preview, user, channel, workspace, respond, None)
                return
            pages = None  # Slack could not fetch the image: upload the card instead
        note: str | None = None
        if preview.card:
            try:
                note = await share_card(
                    client,
                    self.service.cards,
                    channel,
                    preview.maxim,
                    comment=f"shared by {mention(user)}",
                    scopes=scopes,
                )
            except Unsure as unsure:
                log.warning("Slack: card upload to %s cut off (%s)", channel, unsure.reason)
                await self.respond(respond, **private(UNSURE_NOTE, replace=True))
                return
        if not preview.card or note is not None:
            message = render_shared(preview.maxim, user, pages=pages)
            # The link's unfurl is the only card here (after a refused image, no link at all).
            await self._post_shared(client, channel, message, respond, unfurl=pages is not None)
        await self._done(preview, user, channel, workspace, respond, note)

    async def _done(
        self,
        preview: Preview,
        user: str,
        channel: str,
        workspace: str,
        respond: AsyncRespond,
        note: str | None,
    ) -> None:
        """The maxim is out: count it, and drop the preview (or leave `note` in its place)."""
        log.info("maxim %d shared on %s by %s", preview.maxim.number, PLATFORM, user)
        self.service.shared(Origin(PLATFORM, channel, user, workspace), preview.maxim)
        if note is not None:
            await self.respond(respond, **private(note, replace=True))
        else:
            await self.respond(respond, delete_original=True)

    async def _post_shared(
        self,
        client: AsyncWebClient,
        channel: str,
        message: Message,
        respond: AsyncRespond,
        *,
        unfurl: bool,
    ) -> bool:
        """Post `message`; False (nothing posted) where Slack refused it with its card image.

        Where the bot is no member of `channel`, through the command's response_url.
        """
        links: dict[str, Any] = {"unfurl_links": unfurl, "unfurl_media": False}
        try:
            await client.chat_postMessage(channel=channel, **links, **message)
        except SlackApiError as err:
            if image_refused(err, message, channel):
                return False
            if error_code(err) not in CHANNEL_GONE:
                raise
            # The bot is not a member here (a DM, a channel nobody invited it to): the
            # command's response_url may still post to the channel, at the user's request.
            log.info("Send: %s in %s; posting through the response_url", error_code(err), channel)
            sent = await self.respond(
                respond, response_type="in_channel", replace_original=False, **links, **message
            )
            # Refused with its image (Slack could not fetch it): the upload, or the text, next.
            return sent or not has_image(message)
        return True

    async def card_now(
        self,
        client: AsyncWebClient,
        origin: Origin,
        reply: MaximReply,
        respond: AsyncRespond,
        scopes: Sequence[str] | None,
    ) -> None:
        """`/maxim card` without a preview: the card in the channel, "asked for by @user".

        With public pages, the card's image (where the bot is no member, through the command's
        response_url); where Slack cannot fetch it, or without pages, the card is uploaded.
        Where Slack refuses the upload, the text goes out through the response_url (it posts
        where the asker may, even where the bot is no member), with the reason.
        """
        notes = [f"asked for by {mention(origin.user)}", *answer_notes(reply)]
        if self.pages is not None:
            image = render_maxim(reply.maxims[0], *notes, pages=self.pages, card=True)
            if await self._post_shared(client, origin.channel, image, respond, unfurl=False):
                return
        comment = " · ".join(notes)
        try:
            note = await share_card(
                client,
                self.service.cards,
                origin.channel,
                reply.maxims[0],
                comment=comment,
                scopes=scopes,
            )
        except Unsure as unsure:
            log.warning("Slack: card upload to %s cut off (%s)", origin.channel, unsure.reason)
            await self.respond(respond, **private(UNSURE_NOTE))
            return
        if note is not None:
            message = render_answer(reply, note)
            await self.respond(respond, response_type="in_channel", **message)
