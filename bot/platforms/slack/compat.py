"""Every place the bot leans on a library's internals, in one small module.

Each workaround here uses something slack-bolt or slack_sdk does not promise to keep; a test in
``tests/bot/platforms/slack/test_compat.py`` checks that each still exists with the shape we
rely on, so an upgrade that renames one fails loudly there rather than quietly in production.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import (
    build_normalized_headers,
    extract_content_type,
    parse_query,
)

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler


def to_bolt_request(
    raw: str, fields: dict[str, Any], query: str, headers: Mapping[str, str]
) -> AsyncBoltRequest:
    """A verified HTTP request as Bolt sees it, built from the `fields` we already read.

    Bolt's constructor would parse the body again (and misread any form body containing the
    text ``payload`` as an interaction, so `/maxim search payload` would reach no listener).
    So the request is made without it, and given what the constructor would set, with Bolt's
    own helpers: its normalised headers, content type and query, the body, and the context
    derived from the body. (Built empty and then filled, the empty context alone cost more
    than reading the whole form.) A test compares the attributes with the constructor's.
    """
    request = AsyncBoltRequest.__new__(AsyncBoltRequest)
    request.raw_body = raw
    request.query = parse_query(query)
    # Bolt reads any mapping's items(); a copy into a dict first would only cost time.
    request.headers = build_normalized_headers(cast("dict[str, Any]", headers))
    request.content_type = extract_content_type(request.headers)
    request.body = fields
    request.context = build_async_context(AsyncBoltContext({}), fields)
    request.lazy_only = bool(request.headers.get("x-slack-bolt-lazy-only", [False])[0])
    request.lazy_function_name = request.headers.get("x-slack-bolt-lazy-function-name", [None])[0]
    request.mode = "http"
    return request


def use_socket_url(handler: AsyncSocketModeHandler, url: str) -> None:
    """Make the Socket Mode client connect to `url`, a URL we already asked Slack for.

    The SDK would call ``apps.connections.open`` itself and retry a bad app token forever,
    quietly; we ask first (to fail with one clear line), then hand it the URL it would fetch.
    """
    handler.client.wss_uri = url
