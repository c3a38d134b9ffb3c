"""`SlackPoster`: how the daily scheduler posts the maxim of the day to a Slack channel.

Each post carries its claim key in message metadata, so that after a crash `find_post` can
tell whether the earlier attempt reached Slack before posting again.
"""

from __future__ import annotations

import datetime as dt
import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.render import render_daily
from bot.platforms.slack.web import PLATFORM, post_error
from bot.poster import PostError
from maxims import Maxim

PAGE_SIZE = 200  # Slack's recommended page size for conversations.history
MAX_PAGES = 50  # 10,000 messages since the post's scheduled time: a bound, not a window
log = logging.getLogger(__name__)
METADATA_TYPE = "maxim_daily"


class SlackPoster:
    """Posts the maxim of the day with chat.postMessage, tagged with its key in metadata."""

    platform = PLATFORM

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, channel: str, maxim: Maxim, *, key: str) -> str:
        """Post and return the message ts; Slack errors become `PostError`s."""
        try:
            response = await self.client.chat_postMessage(
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

    async def find_post(self, channel: str, key: str, *, since: dt.datetime) -> str | None:
        """The ts of a message of ours carrying `key`, posted at `since` or later, if any.

        Reads ``conversations.history`` from `since` on (``oldest``), page by page, so a busy
        channel cannot hide the earlier attempt behind newer messages; at most `MAX_PAGES`.
        """
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            try:
                response = await self.client.conversations_history(
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
