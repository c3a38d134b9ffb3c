"""`SlackPoster`: how the daily scheduler posts the maxim of the day to a Slack channel.

Each post carries its claim key in message metadata, so that after a crash `find_post` can
tell whether the earlier attempt reached Slack before posting again.

Installed through OAuth the app holds one bot token per workspace: `clients` then gives the
client of the subscription's workspace, and a workspace the app left is `ChannelUnavailable`.
"""

from __future__ import annotations

import datetime as dt
import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.render import render_daily
from bot.platforms.slack.web import PLATFORM, ClientFor, post_error
from bot.poster import ChannelUnavailable, PostError
from maxims import Maxim

PAGE_SIZE = 200  # Slack's recommended page size for conversations.history
MAX_PAGES = 50  # 10,000 messages since the post's scheduled time: a bound, not a window
UNINSTALLED = "app_uninstalled"  # the reason when the subscription's workspace has no token
log = logging.getLogger(__name__)
METADATA_TYPE = "maxim_daily"


class SlackPoster:
    """Posts the maxim of the day with chat.postMessage, tagged with its key in metadata."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient, *, clients: ClientFor | None = None) -> None:
        """`client` posts when `clients` is None (one workspace); else `clients(workspace)`."""
        self.client = client
        self.clients = clients

    async def _client(self, workspace: str) -> AsyncWebClient:
        """The client with `workspace`'s token; `ChannelUnavailable` where it is not installed.

        Permanent on purpose: the scheduler marks the subscription failing, and setting the
        daily post again (after reinstalling) clears that.
        """
        if self.clients is None:
            return self.client
        client = await self.clients(workspace)
        if client is None:
            raise ChannelUnavailable(UNINSTALLED)
        return client

    async def post(self, channel: str, maxim: Maxim, *, key: str, workspace: str = "") -> str:
        """Post and return the message ts; Slack errors become `PostError`s."""
        client = await self._client(workspace)
        try:
            response = await client.chat_postMessage(
                channel=channel,
                metadata={"event_type": METADATA_TYPE, "event_payload": {"key": key}},
                unfurl_links=False,
                unfurl_media=False,
                **render_daily(maxim),
            )
        except SlackApiError as err:
            raise post_error(err) from None
        except (aiohttp.ClientError, TimeoutError) as err:
            raise PostError(f"cannot reach Slack ({type(err).__name__})") from None
        return str(response["ts"])

    async def find_post(
        self, channel: str, key: str, *, since: dt.datetime, workspace: str = ""
    ) -> str | None:
        """The ts of a message of ours carrying `key`, posted at `since` or later, if any.

        Reads ``conversations.history`` from `since` on (``oldest``), page by page, so a busy
        channel cannot hide the earlier attempt behind newer messages; at most `MAX_PAGES`.
        """
        client = await self._client(workspace)
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            try:
                response = await client.conversations_history(
                    channel=channel,
                    include_all_metadata=True,
                    limit=PAGE_SIZE,
                    oldest=f"{since.timestamp():.6f}",
                    cursor=cursor,
                )
            except SlackApiError as err:
                raise post_error(err) from None
            except (aiohttp.ClientError, TimeoutError) as err:
                raise PostError(f"cannot reach Slack ({type(err).__name__})") from None
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == METADATA_TYPE and payload.get("key") == key:
                    return str(message["ts"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or cursor is None:
                return None
        log.warning(
            "looked through %d messages in %s for an earlier daily post without an end",
            MAX_PAGES * PAGE_SIZE,
            channel,
        )
        return None
