"""The Bolt listeners of the maxim bot: `/maxim`, its buttons, mentions, messages.

The App Home (its Home tab, commands sent as direct messages) is `bot.platforms.slack.home`.

Each listener pulls plain values out of the Bolt payload, makes one `ChatService` call and
renders the answer with `bot.platforms.slack.render`. Slack gives every request 3 s: the app runs
with ``process_before_response=True`` (Bolt's default runner polls for ``ack()`` every 10 ms,
which alone costs ~11 ms a request), so listeners acknowledge at once and push anything slow
(chat.postMessage, reactions, response_url calls) into `Background` tasks.

Every Web API call goes through the request's own client (Bolt's ``client``/``context.client``),
which carries the token of the workspace the request came from: one app, many workspaces.
The app that registers these listeners is built in `bot.platforms.slack.app`.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from slack_bolt.async_app import AsyncAck, AsyncBoltContext, AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import ops
from bot.background import Background
from bot.chat import ChatService, IsAdmin, Origin, in_time
from bot.log import report_failure
from bot.platforms.slack.admins import SlackAdmins
from bot.platforms.slack.home import SlackHome, direct_command
from bot.platforms.slack.links import PublicPages
from bot.platforms.slack.render import (
    Message,
    render_maxim,
    render_preview,
    render_reply,
)
from bot.platforms.slack.sharing import Sharing, post_card_answer, private, stored_scopes
from bot.platforms.slack.web import (
    PLATFORM,
    error_code,
    is_slack_url,
    refused_here,
)
from bot.preview import STALE_PREVIEW, is_private
from maxims import MaximReply, Reply, parse_query
from maxims.query import changes_daily

if TYPE_CHECKING:
    from bot.config import SlackConfig

log = logging.getLogger(__name__)

# Message subtypes written by people (everything else is an edit, a deletion, a join, a bot...).
HUMAN_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
WORKING = "Working on it…"
RENDERED_MESSAGES = 512  # `/maxim` acknowledgements kept rendered (and serialised)


_LEADING_MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """A mention's text without the bot's own ``<@UBOT>`` (or, unknown, the leading mention)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        text = _LEADING_MENTION.sub(" ", text)
    return " ".join(text.split())


def _origin(
    channel: object, user: object, body: dict[str, Any], context: AsyncBoltContext
) -> Origin:
    """Where a request came from: its channel, person, workspace and Enterprise Grid org.

    The workspace is the payload's ``team_id`` (an org-wide installation's requests carry it
    too); the org is Bolt's reading of the payload (the command's ``enterprise_id``, or the
    event's installation), which `/maxim daily` stores so that an org-wide installation's
    token can post there.
    """
    team = str(body.get("team_id") or "")
    return Origin(PLATFORM, str(channel or ""), str(user or ""), team, context.enterprise_id or "")


class Acknowledgement(NamedTuple):
    """A `/maxim` answer rendered once: the message, and the same message as JSON."""

    message: Message
    body: str

    def response(self) -> BoltResponse:
        """The HTTP (or Socket Mode) answer to the command.

        A listener may return its `BoltResponse` instead of calling ``ack()``; Bolt sends it
        the same way. ``ack(**message)`` would serialise the same kilobyte of Block Kit on
        every request: that was the largest single cost of `/maxim` after Bolt itself.
        """
        return BoltResponse(status=200, body=self.body)  # JSON: Bolt sets the content type


class SlackListeners:
    """The Bolt listeners of the maxim bot, with what they share."""

    def __init__(
        self,
        service: ChatService,
        config: SlackConfig,
        background: Background,
        admins: SlackAdmins,
        ack_deadline: float,
        *,
        oauth: bool = False,
        pages: PublicPages | None = None,
    ) -> None:
        """`oauth`: installed through OAuth, so each request carries its stored bot scopes.

        `pages`: the public pages (``web.public_url``): cards as image blocks, maxims linked.
        """
        self.oauth = oauth
        self.pages = pages
        self.sharing = Sharing(service, self._post_response, pages)
        self.home = SlackHome(service, background, admins.users, pages)
        self.service = service
        self.config = config
        self.background = background
        self.admins = admins
        self.ack_deadline = ack_deadline
        self._acknowledgements: dict[Reply, Acknowledgement] = {}

    def _admin_check(self, origin: Origin, context: AsyncBoltContext) -> IsAdmin:
        """Whether the asker is an admin *of the workspace (or Grid org) that asked*."""
        return functools.partial(
            self.admins.is_admin,
            context.client,
            origin.user,
            origin.workspace,
            origin.enterprise,
        )

    async def _respond(self, respond: AsyncRespond, **message: Any) -> None:
        """POST to the interaction's response_url if it is Slack's; a refusal is logged."""
        await self._post_response(respond, **message)

    async def _post_response(self, respond: AsyncRespond, **message: Any) -> bool:
        """`_respond`, saying whether Slack took the message (Send falls back when not)."""
        url = respond.response_url or ""
        if not is_slack_url(url, self.config.api_url):
            host = urlsplit(url).hostname if "://" in url else None
            log.warning("refused to post to a response_url that is not Slack's (host %s)", host)
            return False
        response = await respond(**message)
        if response.status_code != 200:
            log.warning("response_url refused the message (HTTP %d)", response.status_code)
            return False
        return True

    # ---------------------------------------------------------------- /maxim

    async def on_maxim_command(
        self,
        ack: AsyncAck,
        command: dict[str, Any],
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> BoltResponse | None:
        """`/maxim ...`: answer in the acknowledgement, or say so and answer a bit later."""
        since = ops.started()
        origin = _origin(command.get("channel_id"), command.get("user_id"), command, context)
        text = str(command.get("text") or "")
        name = str(command.get("command") or "/maxim")
        is_admin = self._admin_check(origin, context)
        if not changes_daily(parse_query(text, name)):
            # Only local work (the corpus, one small read): answer in the acknowledgement.
            reply = await self.service.command(origin, text, is_admin, command=name)
            ops.record_reply(PLATFORM, reply, since)
            if isinstance(reply, MaximReply) and reply.card and not self.config.preview:
                # No preview: the card goes to the channel now, after an empty acknowledgement.
                scopes = stored_scopes(context) if self.oauth else None
                share = self.sharing.card_now(context.client, origin, reply, respond, scopes)
                self.background.spawn(share, "slack /maxim card", self._apology_to(respond))
                return BoltResponse(status=200, body="")
            return self.acknowledgement(reply).response()
        # A change of the daily post may wait on users.info (the admin check): give it until
        # the deadline, then acknowledge and answer through the response_url.
        work, done = await in_time(
            self.service.command(origin, text, is_admin, command=name), self.ack_deadline
        )
        if done:
            ops.record_reply(PLATFORM, work.result(), since)
            return self.acknowledgement(work.result()).response()
        await ack(response_type="ephemeral", text=WORKING)

        async def answer_later() -> None:
            message = self.acknowledgement(await work).message
            await self._respond(respond, replace_original=False, **message)
            ops.record_reply(PLATFORM, work.result(), since)

        self.background.spawn(answer_later(), "slack /maxim", self._apology_to(respond))
        return None

    def acknowledgement(self, reply: Reply) -> Acknowledgement:
        """The answer to `/maxim`: a private preview, or a public maxim, or a note.

        Remembered per reply (replies are immutable values, and a message is only ever read
        once built): seventy maxims and a few kinds of answer are rendered and serialised
        once, not per request.
        """
        known = self._acknowledgements.get(reply)
        if known is None:
            private = is_private(reply, preview=self.config.preview)
            rendered = render_reply(reply, preview=self.config.preview, pages=self.pages)
            message = {**rendered, "response_type": "ephemeral" if private else "in_channel"}
            known = Acknowledgement(message, json.dumps(message))
            if len(self._acknowledgements) >= RENDERED_MESSAGES:
                self._acknowledgements.clear()
            self._acknowledgements[reply] = known
        return known

    # ---------------------------------------------------------------- preview buttons

    async def on_send(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
        context: AsyncBoltContext,
    ) -> None:
        """Send: share the previewed maxim (or card) as the bot, "shared by @user"."""
        await ack()
        value, user, channel = _action_values(body)
        scopes = stored_scopes(context) if self.oauth else None
        team = str((body.get("team") or {}).get("id") or "")
        self.background.spawn(
            self.sharing.send(client, value, user, channel, respond, scopes, team),
            "slack Send",
            self._apology_to(respond),
        )

    async def on_shuffle(self, ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """Shuffle: replace the preview with another maxim (the next search result)."""
        await ack()
        value, _, _ = _action_values(body)
        self.background.spawn(
            self._shuffle(value, respond), "slack Shuffle", self._apology_to(respond)
        )

    async def _shuffle(self, value: str, respond: AsyncRespond) -> None:
        following = self.service.shuffle(value)
        if following is None:
            await self._respond(respond, **private(STALE_PREVIEW, replace=True))
            return
        message = render_preview(following, self.pages)
        await self._respond(respond, response_type="ephemeral", replace_original=True, **message)

    async def on_cancel(self, ack: AsyncAck, respond: AsyncRespond) -> None:
        """Cancel: remove the preview."""
        await ack()
        self.background.spawn(
            self._respond(respond, delete_original=True), "slack Cancel", self._apology_to(respond)
        )

    def _apology_to(self, respond: AsyncRespond) -> Callable[[str], Awaitable[None]]:
        async def apologise(apology: str) -> None:
            await self._respond(respond, **private(apology))

        return apologise

    # ---------------------------------------------------------------- mentions and messages

    async def on_mention(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """``@maxim 42``: the same answer as `/maxim 42`, in the thread."""
        text = strip_mention(str(event.get("text") or ""), context.bot_user_id)
        origin = _origin(event.get("channel"), event.get("user"), body, context)
        thread = str(event.get("thread_ts") or event.get("ts") or "")
        is_admin = self._admin_check(origin, context)
        self.background.spawn(
            self._answer_mention(
                context.client,
                origin,
                text,
                thread,
                is_admin,
                body.get("event_id"),
                stored_scopes(context) if self.oauth else None,
            ),
            "slack mention",
        )

    async def _answer_mention(
        self,
        client: AsyncWebClient,
        origin: Origin,
        text: str,
        thread: str,
        is_admin: IsAdmin,
        event_id: str | None,
        scopes: Sequence[str] | None = None,
    ) -> None:
        since = ops.started()
        reply = await self.service.command(origin, text, is_admin, event_id=event_id)
        if reply is None:
            return  # another delivery of this event was answered
        if isinstance(reply, MaximReply) and reply.card:
            cards = self.service.cards
            channel = origin.channel
            await post_card_answer(
                client, cards, channel, reply, thread=thread, scopes=scopes, pages=self.pages
            )
            ops.record_reply(PLATFORM, reply, since)
            return
        if not is_private(reply, preview=False):
            await client.chat_postMessage(
                channel=origin.channel,
                thread_ts=thread,
                unfurl_links=False,  # an answer in a thread: the link is there, the card is not
                **render_reply(reply, preview=False, pages=self.pages),
            )
            ops.record_reply(PLATFORM, reply, since)
            return
        # Help, lists and errors are for the asker alone, as with the slash command.
        await client.chat_postEphemeral(
            channel=origin.channel,
            user=origin.user,
            thread_ts=thread,
            **render_reply(reply, preview=False),
        )
        ops.record_reply(PLATFORM, reply, since)

    async def on_message(
        self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        """Any message: the triggers (NaN...) may answer it in its thread."""
        if event.get("subtype") not in HUMAN_SUBTYPES or event.get("bot_id"):
            return  # edits, deletions, joins, other bots
        user = str(event.get("user") or "")
        text = str(event.get("text") or "")
        bot_user = context.bot_user_id or ""
        if not user or user == bot_user or not text:
            return
        origin = _origin(event.get("channel"), user, body, context)
        if event.get("channel_type") == "im":
            # Slack sends no app_mention in direct messages: a mention here is just a name.
            query = direct_command(strip_mention(text, bot_user))
            if query is not None:
                is_admin = self._admin_check(origin, context)
                thread = event.get("thread_ts")
                work = self.home.answer_direct(
                    context.client, origin, query, is_admin, thread, body.get("event_id")
                )
                self.background.spawn(work, "slack direct message")
                return
        elif bot_user and f"<@{bot_user}" in text:
            return  # a mention: `on_mention` answers it
        self.background.spawn(
            self._answer_message(context.client, origin, text, event, body.get("event_id")),
            "slack message",
        )

    async def _answer_message(
        self,
        client: AsyncWebClient,
        origin: Origin,
        text: str,
        event: dict[str, Any],
        event_id: str | None,
    ) -> None:
        maxim = await self.service.message(origin, text, event_id=event_id)
        if maxim is None:
            return
        ts = str(event.get("ts") or "")
        in_dm = event.get("channel_type") == "im"  # a conversation of two: no thread needed
        try:
            await client.chat_postMessage(
                channel=origin.channel,
                thread_ts=event.get("thread_ts") or (None if in_dm else ts),
                unfurl_links=False,
                **render_maxim(maxim),
            )
        except SlackApiError as err:
            if not refused_here(err):
                raise  # a message Slack found malformed is our bug: the boundary logs it
            # Nobody asked for this answer, so nobody waits for an apology; the channel's state
            # (or the rate limit) is the operator's to know, in one line, not a traceback.
            log.warning("cannot answer in slack channel %s (%s)", origin.channel, error_code(err))
            return
        if self.config.reaction and ts:
            try:
                await client.reactions_add(
                    channel=origin.channel, timestamp=ts, name=self.config.reaction.strip(":")
                )
            except SlackApiError as err:
                if error_code(err) != "already_reacted":
                    log.warning("reactions.add failed in %s (%s)", origin.channel, error_code(err))

    # ---------------------------------------------------------------- the error boundary

    async def on_error(self, body: dict[str, Any], respond: AsyncRespond | None) -> BoltResponse:
        """Bolt's error handler: log with a reference, apologise privately, answer 200.

        200 rather than Bolt's 500: Slack would re-deliver an event, and the user would see
        Slack's own "failed with the error" for a command instead of our apology.
        """
        kind = str(body.get("command") or body.get("type") or "request")
        apology = report_failure(log, f"slack {kind}")
        if body.get("command"):
            message = {"response_type": "ephemeral", "text": apology}
            return BoltResponse(
                status=200,
                body=json.dumps(message),
                headers={"content-type": "application/json"},
            )
        if respond is not None and respond.response_url:
            self.background.spawn(self._respond(respond, **private(apology)), "slack apology")
        return BoltResponse(status=200, body="")


def _action_values(body: dict[str, Any]) -> tuple[str, str, str]:
    """(button value, user id, channel id) of a block action."""
    actions = body.get("actions") or [{}]
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get(
        "channel_id", ""
    )
    return str(actions[0].get("value") or ""), str((body.get("user") or {}).get("id", "")), channel
