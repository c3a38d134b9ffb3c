"""The library internals `bot.platforms.slack.compat` relies on: still there, still working.

Each test fails loudly when slack-bolt or slack_sdk renames or reshapes what a workaround uses,
so an upgrade breaks here, with a name, rather than in production.
"""

from __future__ import annotations

import inspect
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.socket_mode.aiohttp import SocketModeClient

from bot.platforms.slack.compat import to_bolt_request, use_socket_url
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.payloads import slash_command_body, slash_command_payload

SEARCH_PAYLOAD = slash_command_body("search payload").body


def test_build_async_context_still_takes_a_context_and_a_body():
    parameters = list(inspect.signature(build_async_context).parameters)

    assert parameters == ["context", "body"]
    context = build_async_context(AsyncBoltContext({}), slash_command_payload("7"))
    assert (context.team_id, context.user_id, context.channel_id) == ("T1", "U1", "C1")


def test_to_bolt_request_sets_every_attribute_bolts_constructor_sets():
    # `to_bolt_request` skips the constructor: a new attribute in a Bolt upgrade shows up here.
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Retry-Num": "1"}
    fields = slash_command_payload("7")

    ours = to_bolt_request(slash_command_body("7").body, fields, "a=1", headers)
    bolts = AsyncBoltRequest(body=slash_command_body("7").body, query="a=1", headers=headers)

    assert set(vars(ours)) == set(vars(bolts))
    for name in ("raw_body", "body", "query", "headers", "content_type", "lazy_only", "mode"):
        assert getattr(ours, name) == getattr(bolts, name), name
    assert ours.lazy_function_name == bolts.lazy_function_name
    assert dict(ours.context) == dict(bolts.context)


def test_to_bolt_request_gives_bolt_the_fields_read_once():
    fields = {"command": "/maxim", "text": "search payload", "user_id": "U1", "channel_id": "C1"}

    request = to_bolt_request(SEARCH_PAYLOAD, fields, "", {})

    assert request.body is fields
    assert request.raw_body == SEARCH_PAYLOAD
    assert (request.context.user_id, request.context.channel_id) == ("U1", "C1")


async def test_bolt_dispatches_a_request_built_by_to_bolt_request(fake: FakeSlack):
    app = AsyncApp(client=fake.web_client(), request_verification_enabled=False)
    seen: list[str] = []

    @app.command("/maxim")
    async def answer(ack: Any, command: dict[str, Any]) -> None:
        seen.append(command["text"])
        await ack(text="ok")

    fields = slash_command_payload("search payload")
    response = await app.async_dispatch(to_bolt_request(SEARCH_PAYLOAD, fields, "", {}))

    assert (response.status, seen) == (200, ["search payload"])


def test_socket_mode_client_still_connects_to_a_preset_wss_uri():
    assert "wss_uri" in inspect.get_annotations(SocketModeClient)


async def test_use_socket_url_connects_without_asking_slack_again(fake: FakeSlack):
    opened = await fake.web_client().apps_connections_open(app_token=fake.app_token)
    fake.clear()
    app = AsyncApp(client=fake.web_client(), request_verification_enabled=False)
    handler = AsyncSocketModeHandler(app, fake.app_token, web_client=fake.web_client())

    use_socket_url(handler, opened["url"])
    try:
        await handler.connect_async()
        await fake.wait_socket_connected()
    finally:
        await handler.close_async()

    assert fake.socket_connections == 1
    assert fake.calls_to("apps.connections.open") == []  # it used the URL we gave it
