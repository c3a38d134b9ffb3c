"""`SlackPoster`: how the daily scheduler posts the maxim of the day to a Slack channel.

Each post carries its claim key in message metadata, so that after a crash `find_post` can
tell whether the earlier attempt reached Slack before posting again. A card-style post is an
uploaded file, whose message has no metadata: the card's file name ends in a digest of the
key instead (`bot.platforms.slack.cards.daily_card_name`), and `find_post` looks for both.

Installed through OAuth the app holds one bot token per workspace: `clients` then gives the
client of the subscription's workspace (or of its Enterprise Grid org's org-wide installation),
and a workspace the app left is `ChannelUnavailable`.

Since 2025-05-29 Slack lets a commercially distributed app that is not in the Slack
Marketplace call ``conversations.history`` once a minute per workspace, 15 messages a page.
`find_post` waits those minutes out itself (a warning for each), up to `HISTORY_WAIT_BUDGET`:
the daily post is late rather than posted twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.cards import CardCache
from bot.platforms.slack.cards import (
    CardRefused,
    Unsure,
    daily_card_name,
    is_daily_card,
    shared_ts,
    upload_card,
)
from bot.platforms.slack.render import daily_card_comment, render_daily
from bot.platforms.slack.web import PLATFORM, ClientFor, post_error, without_rate_limit_retry
from bot.poster import ChannelUnavailable, PostError, PostLimits, RateLimited
from maxims import Maxim

PAGE_SIZE = 200  # Slack's recommended page size; it serves 15 to non-Marketplace apps
# A bound, not a window: 50 full pages, 10,000 messages since the post's scheduled time. It is
# counted in messages, so Slack's 15-message pages (non-Marketplace apps) do not shrink it to
# 750; there, at one page a minute, the wait budget ends the search (RateLimited) long before.
MAX_PAGES = 50
HISTORY_WAIT_BUDGET = 15 * 60  # seconds find_post may wait out history rate limits in all
MIN_HISTORY_WAIT = 1.0  # seconds: a "Retry-After: 0" must not turn into a busy loop
# The same for chat.postMessage, whose 429 is no longer slept out in slack_sdk (which adds up
# to a second of its own): a channel takes about one message a second anyway.
MIN_POST_WAIT = 1.0
UNINSTALLED = "app_uninstalled"  # the reason when the subscription's workspace has no token
# With OAuth, one workspace's token refused for good (its uninstall event missed, say): that
# workspace's daily posts stop as failing instead of retrying every day. With one bot token
# these stay retryable: every channel would fail alike until the operator fixes the token.
# ``team_access_not_granted``: an Enterprise Grid org-wide installation that an org admin took
# out of the channel's workspace.
WORKSPACE_GONE = frozenset(
    {"token_revoked", "account_inactive", "invalid_auth", "team_access_not_granted"}
)
log = logging.getLogger(__name__)
METADATA_TYPE = "maxim_daily"


class SlackPoster:
    """Posts the maxim of the day with chat.postMessage, tagged with its key in metadata."""

    platform = PLATFORM
    # Slack limits chat.postMessage per workspace (and about one message a second per
    # channel), not per app: one workspace's 429 must not hold back any other's posts.
    rate_limits = PostLimits(per_workspace=True, channel_interval=1.0)

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        clients: ClientFor | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        history_wait_budget: float = HISTORY_WAIT_BUDGET,
        cards: CardCache | None = None,
    ) -> None:
        """`client` posts when `clients` is None (one workspace); else the post's `clients(...)`.

        `sleep` and `clock` are how `find_post` waits out rate limits (tests move time);
        `cards` draws card-style posts (the chat service's, so each card is drawn once).
        """
        self.cards = cards if cards is not None else CardCache()
        self.client = client
        self.clients = clients
        self.sleep = sleep
        self.clock = clock
        self.history_wait_budget = history_wait_budget

    async def _client(self, workspace: str, channel: str) -> AsyncWebClient:
        """The client that posts to `channel` of `workspace`; `ChannelUnavailable` if none does.

        Permanent on purpose: the scheduler marks the subscription failing, and setting the
        daily post again (after reinstalling) clears that.
        """
        if self.clients is None:
            return self.client
        client = await self.clients(workspace, channel)
        if client is None:
            raise ChannelUnavailable(UNINSTALLED)
        return client

    async def post(
        self,
        channel: str,
        maxim: Maxim,
        *,
        key: str,
        workspace: str = "",
        style: str = "text",
        thread: bool = False,
    ) -> str:
        """Post and return the message ts; Slack errors become `PostError`s.

        A card-style post uploads the card (`_post_card`); where the installation lacks
        ``files:write`` it goes out as text, with one log line. `thread` adds a line inviting
        replies in the post's thread (Slack threads need no setup).

        A 429 of chat.postMessage comes back at once as `RateLimited`, never slept out inside
        slack_sdk: the scheduler then pauses that workspace's posts, and a post waiting out
        its workspace's limit must not hold one of the process's posting slots meanwhile.
        """
        client = await self._client(workspace, channel)
        if style == "card":
            posted = await self._post_card(client, channel, maxim, key, thread=thread)
            if posted is not None:
                return posted
        try:
            response = await without_rate_limit_retry(client).chat_postMessage(
                channel=channel,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
                **render_daily(maxim, thread=thread),
            )
        except SlackApiError as err:
            error = self._error(err)
            if isinstance(error, RateLimited) and error.retry_after < MIN_POST_WAIT:
                error = RateLimited(MIN_POST_WAIT, error.reason)
            raise error from None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise PostError(f"cannot reach Slack ({type(err).__name__})") from None
        return str(response["ts"])

    def _error(self, err: SlackApiError) -> PostError:
        error = post_error(err)
        if self.clients is not None and error.reason in WORKSPACE_GONE:
            return ChannelUnavailable(error.reason)
        return error

    async def _post_card(
        self, client: AsyncWebClient, channel: str, maxim: Maxim, key: str, *, thread: bool
    ) -> str | None:
        """Upload the day's card, named after `key` (`daily_card_name`), so `find_post` sees it.

        Returns the sharing message's ts (the file id while Slack has not said where it
        shared it), or None when the installation lacks ``files:write``: the text then.
        """
        try:
            shared = await upload_card(
                client,
                self.cards,
                channel,
                maxim,
                filename=daily_card_name(maxim, key),
                comment=daily_card_comment(thread=thread),
            )
        except CardRefused as refused:
            if refused.missing_scope:
                log.warning(
                    "Slack: no files:write for the daily card in %s: posting the text "
                    "(reinstall the app to post cards)",
                    channel,
                )
                return None
            if refused.error is not None:
                raise self._error(refused.error) from None
            raise PostError(f"card upload failed ({refused.code})") from None
        except Unsure as unsure:
            # Retried as any cut-off post: the retry looks in the history first.
            raise PostError(unsure.reason) from None
        return shared_ts(shared, channel) or str(shared.get("id") or "")

    async def find_post(
        self, channel: str, key: str, *, since: dt.datetime, workspace: str = ""
    ) -> str | None:
        """The ts of a message of ours carrying `key`, posted at `since` or later, if any.

        Reads ``conversations.history`` from `since` on (``oldest``), page by page, so a busy
        channel cannot hide the earlier attempt behind newer messages. None only once the
        window was read to its end (or to the `MAX_PAGES` bound): a rate limit longer than
        the wait budget raises `RateLimited`, so the scheduler retries the post later.
        """
        client = without_rate_limit_retry(await self._client(workspace, channel))
        deadline = self.clock() + self.history_wait_budget
        cursor: str | None = None
        read = 0
        while read < MAX_PAGES * PAGE_SIZE:
            response = await self._history_page(client, channel, since, cursor, deadline)
            messages = response.get("messages") or []
            for message in messages:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_TYPE and payload.get("key") == key:
                    return str(message["ts"])
                if is_daily_card(message, key):  # a card: no metadata, its file name tells
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return None
            read += max(len(messages), 1)  # an empty page still counts towards the bound
        log.warning(
            "looked through %d messages in %s for an earlier daily post without an end",
            read,
            channel,
        )
        return None

    async def _history_page(
        self,
        client: AsyncWebClient,
        channel: str,
        since: dt.datetime,
        cursor: str | None,
        deadline: float,
    ) -> AsyncSlackResponse:
        """One page of history; a 429 is waited out and the same page asked for again.

        Each wait is logged: at one call a minute, a takeover's check takes minutes, and
        whoever reads the log should know why the daily post is late.
        """
        while True:
            try:
                return await client.conversations_history(
                    channel=channel,
                    include_all_metadata=True,
                    limit=PAGE_SIZE,
                    oldest=f"{since.timestamp():.6f}",
                    cursor=cursor,
                )
            except SlackApiError as err:
                error = post_error(err)
                if not isinstance(error, RateLimited):
                    raise error from None
            except (aiohttp.ClientError, TimeoutError) as err:
                raise PostError(f"cannot reach Slack ({type(err).__name__})") from None
            wait = max(error.retry_after, MIN_HISTORY_WAIT)
            if self.clock() + wait > deadline:
                reason = (
                    f"conversations.history rate-limited for over {self.history_wait_budget:g} s"
                )
                raise RateLimited(wait, reason)
            log.warning(
                "Slack: conversations.history is rate-limited in %s (retry after %g s; apps "
                "outside the Slack Marketplace get 1 request a minute): the daily post waits, "
                "late rather than twice",
                channel,
                wait,
            )
            await self.sleep(wait)
