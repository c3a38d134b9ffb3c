"""The App Home of the maxim bot: its Home tab, and commands sent in its Messages tab.

Home tab: each person sees their own maxim of the day (key ``home:USER``) on the date of their
own time zone (``users.info``'s ``tz``, remembered a minute by `SlackUsers`), a Shuffle
button, the daily posts of the channels they share with the bot, and the commands. Shuffle
carries the maxim shown in its value, as the preview's buttons do, so it needs no state. The
channels come from one ``users.conversations`` call for the person (Slack lists someone else's
private channels only where the bot is a member too), made only when the workspace has daily
posts at all and bounded at `MAX_CHANNEL_PAGES`.

Messages tab: a direct message that reads as a command (``34``, ``search dropout``, ``help``,
also after ``/maxim``) is answered there; anything else goes to the triggers, as in a channel.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_bolt.async_app import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import Background
from bot.chat import ChatService, IsAdmin, Origin
from bot.platforms.slack.links import PublicPages
from bot.platforms.slack.render import render_home, render_reply
from bot.platforms.slack.sharing import post_card_answer
from bot.platforms.slack.users import SlackUsers
from bot.platforms.slack.web import PLATFORM, error_code
from bot.preview import Preview
from maxims import MaximReply, Reply, parse_query
from maxims.query import (
    ByNumber,
    DailyOff,
    DailySet,
    DailyShow,
    Help,
    ListAll,
    NotANumber,
    RandomMaxim,
    Today,
)
from maxims.reply import HELP

log = logging.getLogger(__name__)

CHANNEL_PAGE = 200  # Slack's advice for users.conversations pages
MAX_CHANNEL_PAGES = 5  # a person in over 1,000 channels may miss some daily posts on Home
# Words that start a command in a direct message: the core's help forms and keywords.
COMMAND_WORDS = frozenset(
    {line.form.split()[0] for line in HELP if line.form[:1].isalpha()}
    | {line.keyword for line in HELP if line.keyword}
)
_COMMANDS = (ByNumber, NotANumber, Today, Help, ListAll, RandomMaxim, DailyShow, DailyOff, DailySet)


def direct_command(text: str) -> str | None:
    """The `/maxim` query a direct message asks for, or None when it is conversation.

    After ``/maxim`` anything is a command (as typed in the command box); otherwise a message
    is one when it reads as a number, a one-word command, or starts with ``search``, ``card``
    or ``daily``, so "my loss is NaN" stays a message for the triggers, not a search.
    """
    words = text.split()
    if words and words[0].lower() == "/maxim":
        return " ".join(words[1:])
    if not words:
        return None
    query = parse_query(text)
    head = words[0].lower()
    if isinstance(query, _COMMANDS) or head in {"search", "card", "daily"} or head.startswith("#"):
        return text
    return None


def zone_of(name: str) -> tuple[dt.tzinfo, str]:
    """A ``users.info`` time zone name's zone and name; UTC when it is missing or unknown."""
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC, "UTC"


async def _no_channels() -> list[str]:
    """No channels: a direct message's ``today`` needs no daily posts."""
    return []


class SlackHome:
    """The Home tab's listeners, and the answers to commands sent as direct messages."""

    def __init__(
        self,
        service: ChatService,
        background: Background,
        users: SlackUsers,
        pages: PublicPages | None = None,
    ) -> None:
        """`users`: the app's one cache of ``users.info`` (the admin check's too).

        `pages`: the public pages (``web.public_url``) a direct answer links to.
        """
        self.service = service
        self.background = background
        self.users = users
        self.pages = pages

    # ---------------------------------------------------------------- Home tab

    async def on_home_opened(
        self, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """``app_home_opened``: publish the person's Home tab (not for the Messages tab)."""
        if event.get("tab") != "home" or not event.get("user"):
            return
        origin = Origin(
            PLATFORM, str(event.get("channel", "")), str(event["user"]), str(body.get("team_id"))
        )
        self.background.spawn(self.publish(client, origin, None), "slack Home")

    async def on_shuffle(self, ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Shuffle on the Home tab: publish it again with another maxim."""
        await ack()
        user = str((body.get("user") or {}).get("id") or "")
        team = str((body.get("team") or {}).get("id") or "")
        actions = body.get("actions") or [{}]
        shown = self.service.shuffle(str(actions[0].get("value") or ""))
        if user:
            self.background.spawn(
                self.publish(client, Origin(PLATFORM, "", user, team), shown), "slack Home"
            )

    async def publish(self, client: AsyncWebClient, origin: Origin, shown: Preview | None) -> None:
        """Publish the Home tab: today's maxim for the person, unless `shown` is another one.

        `client` carries the person's workspace's token (Bolt's client of the request).
        """
        zone, zone_name = await self._zone(client, origin)
        unlisted = False

        async def channels() -> list[str]:
            nonlocal unlisted
            try:
                return await _channels_of(client, origin.user)
            except SlackApiError as err:
                log.warning(
                    "users.conversations failed (%s): Home without daily posts", error_code(err)
                )
                unlisted = True
                return []

        today, posts = await self.service.home(origin, zone, channels)
        preview = shown or Preview(today, "today")
        stats = await self.service.stats_text(origin)  # the workspace's, as `/maxim stats`
        view = render_home(
            preview, zone_name, None if unlisted else posts, stats, now=self.service.clock()
        )
        await client.views_publish(user_id=origin.user, view=view)
        log.info("published Home of %s with maxim %d", origin.user, preview.maxim.number)

    # ---------------------------------------------------------------- Messages tab

    async def answer_direct(
        self,
        client: AsyncWebClient,
        origin: Origin,
        query: str,
        is_admin: IsAdmin,
        thread: str | None,
        event_id: str | None,
    ) -> None:
        """Answer a command sent as a direct message, in that conversation, once per event.

        ``today`` here is the person's maxim of the day, the one their Home tab shows, not
        the order of the direct-message channel.
        """
        reply: Reply | None
        if isinstance(parse_query(query), Today):
            if event_id is not None and not await self.service.first_request(
                PLATFORM, origin.event(event_id)
            ):
                return  # another delivery of this event was answered
            zone, _ = await self._zone(client, origin)
            maxim, _ = await self.service.home(origin, zone, _no_channels)
            reply = MaximReply((maxim,), "today")
        else:
            reply = await self.service.command(origin, query, is_admin, event_id=event_id)
        if reply is None:
            return  # another delivery of this event was answered
        if isinstance(reply, MaximReply) and reply.card:
            cards = self.service.cards
            pages = self.pages
            await post_card_answer(client, cards, origin.channel, reply, thread=thread, pages=pages)
            return
        await client.chat_postMessage(
            channel=origin.channel,
            thread_ts=thread,
            unfurl_links=False,
            **render_reply(reply, preview=False, pages=self.pages),
        )

    async def _zone(self, client: AsyncWebClient, origin: Origin) -> tuple[dt.tzinfo, str]:
        """The person's time zone (cached a minute), or UTC when Slack does not say."""
        try:
            user = await self.users.info(client, origin.user, origin.workspace)
        except SlackApiError as err:
            log.warning("users.info failed (%s): Home in UTC", error_code(err))
            return dt.UTC, "UTC"
        return zone_of(user.tz)


async def _channels_of(client: AsyncWebClient, user: str) -> list[str]:
    """The channels `user` is in that the bot may see, in at most `MAX_CHANNEL_PAGES` calls."""
    found: list[str] = []
    cursor = ""
    for _ in range(MAX_CHANNEL_PAGES):
        response = await client.users_conversations(
            user=user,
            types="public_channel,private_channel",
            exclude_archived=True,
            limit=CHANNEL_PAGE,
            cursor=cursor or None,
        )
        found += [str(c.get("id")) for c in response.get("channels") or []]
        cursor = str((response.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            break
    return found
