"""Self-tests of the loopback Slack emulator (tests/fakes/slack/api.py).

They drive the *real* slack_sdk clients (AsyncWebClient with its retry handlers, the aiohttp
SocketModeClient) and a real slack-bolt AsyncApp against ``FakeSlack``, so the other tests
can trust that what passes against the fake is what the SDKs do against Slack.  No sleeps:
every wait is on an event the fake or the SDK signals.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import pytest
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond, AsyncSay
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.loopback import LoopbackServer
from tests.fakes.slack.api import DEFAULT_BOT_ID, FakeSlack
from tests.fakes.slack.payloads import (
    DEFAULT_BOT_USER_ID,
    DEFAULT_TEAM_ID,
    app_home_opened_event,
    app_mention_event,
    block_actions_body,
    direct_message_event,
    event_body,
    event_payload,
    home_actions_body,
    message_event,
    sign,
    slash_command_body,
    slash_command_payload,
    url_verification_body,
)

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
SIGNING_SECRET = "test-signing-secret"
BLOCKS: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Maxim 1*: Good enough is good."}}
]


def http_app(fake: FakeSlack, *, process_before_response: bool = False) -> AsyncApp:
    """A bolt app in HTTP mode whose Web API client talks to the fake."""
    return AsyncApp(
        signing_secret=SIGNING_SECRET,
        client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.url),
        process_before_response=process_before_response,
    )


# ------------------------------------------------------------------------------ Web API


async def test_url_is_loopback_and_ends_with_slash(fake: FakeSlack) -> None:
    assert fake.url == f"http://127.0.0.1:{fake.port}/api/"


async def test_auth_test_reports_the_bot_identity(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)

    resp = await client.auth_test()

    assert resp["ok"] is True
    assert resp["user_id"] == DEFAULT_BOT_USER_ID
    assert resp["bot_id"] == DEFAULT_BOT_ID
    assert resp["team_id"] == DEFAULT_TEAM_ID
    assert resp["url"].startswith("https://")
    assert "chat:write" in resp.headers["x-oauth-scopes"]
    [call] = fake.calls_to("auth.test")
    assert call.ok
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"


@pytest.mark.parametrize(
    ("token", "error"),
    [
        ("xoxb-someone-else", "invalid_auth"),
        (None, "not_authed"),
        (APP_TOKEN, "not_allowed_token_type"),
    ],
)
async def test_auth_test_rejects_bad_tokens(fake: FakeSlack, token: str | None, error: str) -> None:
    client = AsyncWebClient(token=token, base_url=fake.url)

    with pytest.raises(SlackApiError) as excinfo:
        await client.auth_test()

    assert excinfo.value.response["error"] == error
    assert fake.calls_to("auth.test", ok=False)[0].error == error


async def test_connections_open_needs_the_app_token(fake: FakeSlack) -> None:
    client = AsyncWebClient(base_url=fake.url)

    resp = await client.apps_connections_open(app_token=APP_TOKEN)
    assert resp["url"].startswith(f"ws://127.0.0.1:{fake.port}/")

    with pytest.raises(SlackApiError) as excinfo:
        await client.apps_connections_open(app_token=BOT_TOKEN)
    assert excinfo.value.response["error"] == "not_allowed_token_type"


async def test_unknown_method(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)

    with pytest.raises(SlackApiError) as excinfo:
        await client.api_call("maxims.teleport")

    assert excinfo.value.response["error"] == "unknown_method"


async def test_post_message_is_recorded_and_listed_in_history(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    metadata = {"event_type": "maxim_posted", "event_payload": {"maxim": 1}}

    first = await client.chat_postMessage(
        channel="C1", text="one", blocks=BLOCKS, metadata=metadata
    )
    second = await client.chat_postMessage(channel="C1", text="two")

    assert first["channel"] == "C1"
    assert float(first["ts"]) < float(second["ts"])
    assert first["message"]["blocks"] == BLOCKS
    assert first["message"]["bot_id"] == DEFAULT_BOT_ID
    [call, _] = await fake.wait_for("chat.postMessage", count=2)
    assert call.body["blocks"] == BLOCKS
    assert call.body["metadata"] == metadata

    history = await client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["text"] for m in history["messages"]] == ["two", "one"]  # newest first
    assert history["messages"][1]["metadata"] == metadata
    plain = await client.conversations_history(channel="C1")
    assert "metadata" not in plain["messages"][1]


async def test_form_encoded_json_fields_are_decoded(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    fake.member_of.add("C9")

    await client.api_call(
        "chat.postMessage",
        data={"channel": "C9", "text": "form", "blocks": json.dumps(BLOCKS)},
    )

    [call] = fake.calls_to("chat.postMessage")
    assert call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert call.body == {"channel": "C9", "text": "form", "blocks": BLOCKS}


async def test_reactions_ephemeral_and_users(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    fake.users["U1"] = {"is_admin": True, "is_owner": False}
    posted = await client.chat_postMessage(channel="C1", text="draft", blocks=BLOCKS)
    ts = posted["ts"]

    await client.reactions_add(channel="C1", timestamp=ts, name="thumbsup")
    with pytest.raises(SlackApiError, match="already_reacted"):
        await client.reactions_add(channel="C1", timestamp=ts, name="thumbsup")
    with pytest.raises(SlackApiError, match="message_not_found"):
        await client.reactions_add(channel="C1", timestamp="1.2", name="thumbsup")
    ephemeral = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    admin = await client.users_info(user="U1")
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client.users_info(user="U404")

    assert float(ephemeral["message_ts"]) > float(ts)
    assert admin["user"]["is_admin"] is True
    assert admin["user"]["is_owner"] is False
    assert admin["user"]["team_id"] == DEFAULT_TEAM_ID
    [message] = fake.channel_messages("C1")
    assert message["blocks"] == BLOCKS
    assert message["reactions"] == [
        {"name": "thumbsup", "users": [DEFAULT_BOT_USER_ID], "count": 1}
    ]


# ------------------------------------------------------------------------------ failures


async def test_not_in_channel_surfaces_as_slack_api_error(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    fake.fail_next("chat.postMessage", error="not_in_channel")

    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel="C1", text="hello")
    assert excinfo.value.response.status_code == 200
    assert excinfo.value.response["error"] == "not_in_channel"

    await client.chat_postMessage(channel="C1", text="hello")  # the fault was consumed
    assert [c.ok for c in fake.calls_to("chat.postMessage")] == [False, True]


async def test_rate_limit_is_retried_and_delivers_once(fake: FakeSlack) -> None:
    # slack_sdk sleeps int(Retry-After) + random() seconds: retry_after=0 keeps this < 1 s.
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=fake.url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake.rate_limit_next("chat.postMessage", retry_after=0)

    resp = await client.chat_postMessage(channel="C1", text="patience")

    assert resp["ok"] is True
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]
    assert [m["text"] for m in fake.channel_messages("C1")] == ["patience"]


async def test_rate_limit_without_retry_handler_exposes_retry_after(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    fake.rate_limit_next("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as excinfo:
        await client.chat_postMessage(channel="C1", text="too fast")

    assert excinfo.value.response.status_code == 429
    assert excinfo.value.response["error"] == "ratelimited"
    assert excinfo.value.response.headers["Retry-After"] == "7"
    assert fake.channel_messages("C1") == []


async def test_server_errors_are_retried(fake: FakeSlack) -> None:
    client = AsyncWebClient(
        token=BOT_TOKEN,
        base_url=fake.url,
        retry_handlers=[
            AsyncServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.0)
            )
        ],
    )
    fake.server_error_next("chat.postMessage", status=500)
    fake.server_error_next("chat.postMessage", status=503)

    await client.chat_postMessage(channel="C1", text="eventually")

    assert [c.status for c in fake.calls_to("chat.postMessage")] == [500, 503, 200]
    assert len(fake.channel_messages("C1")) == 1


async def test_wait_for_times_out_with_what_was_recorded(fake: FakeSlack) -> None:
    await AsyncWebClient(token=BOT_TOKEN, base_url=fake.url).auth_test()

    with pytest.raises(AssertionError, match=r"chat\.postMessage.*auth\.test\[200\]"):
        await fake.wait_for("chat.postMessage", timeout=0.01)


# ------------------------------------------------------------------------------ signing


def test_sign_matches_slack_sdk_verifier() -> None:
    body = slash_command_body("hello").body
    headers = sign(SIGNING_SECRET, body)

    assert SignatureVerifier(SIGNING_SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other-secret").is_valid_request(body, headers)


# ------------------------------------------------------------------------------ bolt, HTTP mode


async def test_signed_slash_command_through_bolt(fake: FakeSlack) -> None:
    app = http_app(fake)
    seen: list[dict[str, Any]] = []

    @app.command("/maxim")
    async def maxim(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        seen.append(command)
        await ack(f"Looking up {command['text']}…")
        await respond(text="Maxim 7", response_type="in_channel")

    request = slash_command_body(
        "7", user_id="U42", response_url=fake.response_url("cmd")
    ).bolt_request(SIGNING_SECRET)
    response = await app.async_dispatch(request)

    assert response.status == 200
    assert response.body == "Looking up 7…"
    [(name, body)] = await fake.wait_for_response()
    assert name == "cmd"
    assert body == {"text": "Maxim 7", "response_type": "in_channel"}
    assert seen[0]["user_id"] == "U42"
    # Single-workspace authorization: bolt calls auth.test with the bot token, once.
    [auth] = fake.calls_to("auth.test")
    assert auth.headers["authorization"] == f"Bearer {BOT_TOKEN}"


async def test_bad_or_stale_signature_is_rejected(fake: FakeSlack) -> None:
    app = http_app(fake)

    @app.command("/maxim")
    async def maxim(ack: AsyncAck) -> None:
        await ack()

    built = slash_command_body("1")
    forged: dict[str, str | Sequence[str]] = {
        "Content-Type": built.content_type,
        **sign("wrong-secret", built.body),
    }
    stale: dict[str, str | Sequence[str]] = {
        **built.headers(SIGNING_SECRET, timestamp=int(time.time()) - 600)
    }

    for headers in (forged, stale):
        response = await app.async_dispatch(AsyncBoltRequest(body=built.body, headers=headers))
        assert response.status == 401
    assert fake.calls == []  # rejected before authorization


async def test_events_reach_listeners_but_self_events_do_not(fake: FakeSlack) -> None:
    app = http_app(fake, process_before_response=True)
    texts: list[str] = []

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        texts.append(event["text"])

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], say: AsyncSay) -> None:
        await say(f"hi <@{event['user']}>")

    own = event_body(message_event("from the bot", user_id=DEFAULT_BOT_USER_ID), event_id="Ev1")
    human = event_body(message_event("from a human"), event_id="Ev2")
    mention = event_body(app_mention_event("maxim 3"), event_id="Ev3")
    for built in (own, human, mention):
        response = await app.async_dispatch(built.bolt_request(SIGNING_SECRET))
        assert response.status == 200

    assert texts == ["from a human"]
    [post] = await fake.wait_for("chat.postMessage")
    assert post.body["channel"] == "C1"
    assert post.body["text"] == "hi <@U1>"


async def test_url_verification(fake: FakeSlack) -> None:
    app = http_app(fake)

    response = await app.async_dispatch(
        url_verification_body("challenge-123").bolt_request(SIGNING_SECRET)
    )

    assert response.status == 200
    assert json.loads(response.body) == {"challenge": "challenge-123"}


async def test_block_action_through_bolt(fake: FakeSlack) -> None:
    app = http_app(fake)

    @app.action("next_maxim")
    async def next_maxim(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(text=f"Maxim {body['actions'][0]['value']}", replace_original=True)

    built = block_actions_body("next_maxim", "8", response_url=fake.response_url("btn"))
    response = await app.async_dispatch(built.bolt_request(SIGNING_SECRET))

    assert response.status == 200
    [(_, body)] = await fake.wait_for_response(name="btn")
    assert body == {"text": "Maxim 8", "replace_original": True}


# ------------------------------------------------------------------------------ Socket Mode


async def test_socket_mode_round_trip_with_the_sdk_client(fake: FakeSlack) -> None:
    hello = asyncio.Event()

    async def on_message(
        client: AsyncBaseSocketModeClient, message: dict[str, Any], raw: str | None
    ) -> None:
        if message.get("type") == "hello":
            hello.set()

    async def on_request(client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        response = SocketModeResponse(
            envelope_id=req.envelope_id, payload={"text": f"echo {req.payload['text']}"}
        )
        await client.send_socket_mode_response(response)

    client = SocketModeClient(app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=fake.url))
    client.message_listeners.append(on_message)
    client.socket_mode_request_listeners.append(on_request)
    try:
        await client.connect()
        await fake.wait_socket_connected()
        await asyncio.wait_for(hello.wait(), timeout=5)

        ack = await fake.socket_send("slash_commands", slash_command_payload("hi"))
    finally:
        await client.close()

    assert ack["payload"] == {"text": "echo hi"}
    assert fake.socket_envelopes[0]["type"] == "slash_commands"
    [opened] = fake.calls_to("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"


async def test_bolt_socket_mode_acks_carry_payload_and_survive_reconnects(
    fake: FakeSlack,
) -> None:
    app = AsyncApp(client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.url))

    @app.command("/maxim")
    async def maxim(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(blocks=BLOCKS, text=f"maxim {command['text']}")

    @app.event("app_mention")
    async def on_mention(say: AsyncSay) -> None:
        await say("present")

    handler = AsyncSocketModeHandler(app, APP_TOKEN)
    try:
        await handler.connect_async()

        first = await fake.socket_send("slash_commands", slash_command_payload("1"))
        await fake.socket_disconnect()  # Slack's periodic refresh_requested
        second = await fake.socket_send("slash_commands", slash_command_payload("2"))
        await fake.socket_disconnect(close=True)  # an abrupt close
        event_ack = await fake.socket_send(
            "events_api", event_payload(app_mention_event("hello")), accepts_response_payload=False
        )
        [post] = await fake.wait_for("chat.postMessage")
    finally:
        await handler.close_async()

    assert first["payload"] == {"text": "maxim 1", "blocks": BLOCKS}
    assert second["payload"]["text"] == "maxim 2"
    assert "payload" not in event_ack  # an empty ack() carries no payload
    assert post.body["text"] == "present"
    assert fake.socket_connections == 3
    assert len(fake.calls_to("apps.connections.open")) == 3


async def test_socket_rejects_unissued_tickets(fake: FakeSlack) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as excinfo:
            await session.ws_connect(f"ws://127.0.0.1:{fake.port}/link/?ticket=forged")
    assert excinfo.value.status == 401


# ------------------------------------------------------------------------------ lifecycle


async def test_stop_closes_websockets_and_leaves_no_tasks() -> None:
    fake = FakeSlack(bot_token=BOT_TOKEN, app_token=APP_TOKEN)
    await fake.start()
    opened = await AsyncWebClient(base_url=fake.url).apps_connections_open(app_token=APP_TOKEN)

    async with aiohttp.ClientSession() as session, session.ws_connect(opened["url"]) as ws:
        assert (await ws.receive_json())["type"] == "hello"
        await fake.wait_socket_connected()
        stopping = asyncio.ensure_future(fake.stop())
        closing = await ws.receive()
        await stopping

    assert closing.type == aiohttp.WSMsgType.CLOSE
    await fake.stop()  # idempotent
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []
    with pytest.raises(RuntimeError):
        _ = fake.url


async def test_a_held_call_waits_until_released(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    fake.users["U1"] = {"is_admin": True}
    gate = fake.hold_next("users.info")

    call = asyncio.ensure_future(client.users_info(user="U1"))
    async with asyncio.timeout(5):
        while not fake.held_calls("users.info"):  # the call reached the emulator, and waits
            await asyncio.sleep(0.01)
    assert not call.done()
    assert fake.calls_to("users.info") == []
    gate.set()

    assert (await call)["user"]["is_admin"] is True
    assert fake.held_calls("users.info") == 0
    assert len(fake.calls_to("users.info")) == 1
    await client.users_info(user="U1")  # only the next call was held


async def test_held_counts_the_calls_waiting_at_a_hold(fake: FakeSlack) -> None:
    client = fake.web_client()
    gate = fake.hold_next("auth.test")
    call = asyncio.ensure_future(client.auth_test())

    await fake.wait_until(lambda: fake.held["auth.test"] == 1, "the held call")
    gate.set()
    await call

    assert fake.held["auth.test"] == 0


# ------------------------------------------------------------------------------ Slack's rules


async def silent_client(fake: FakeSlack, session: aiohttp.ClientSession):
    """A Socket Mode connection that never acknowledges anything."""
    opened = await AsyncWebClient(base_url=fake.url).apps_connections_open(app_token=APP_TOKEN)
    ws = await session.ws_connect(opened["url"])
    assert (await ws.receive_json())["type"] == "hello"
    await fake.wait_socket_connected()
    return ws


async def test_an_unacknowledged_event_fails_and_is_redelivered_three_times(fake):
    fake.ack_timeout = 0.05
    async with aiohttp.ClientSession() as session:
        ws = await silent_client(fake, session)
        await fake.socket_post("events_api", event_payload(message_event("NaN"), event_id="EvX"))
        await fake.wait_until(lambda: len(fake.socket_failures) == 4, "four failed deliveries")
        await ws.close()

    envelopes = [envelope for envelope, _ in fake.socket_failures]
    assert [e["retry_attempt"] for e in envelopes] == [0, 1, 2, 3]
    assert [e["retry_reason"] for e in envelopes] == ["", "timeout", "timeout", "timeout"]
    assert {e["payload"]["event_id"] for e in envelopes} == {"EvX"}
    assert len({e["envelope_id"] for e in envelopes}) == 4
    assert {reason for _, reason in fake.socket_failures} == {"timeout"}


async def test_an_unacknowledged_command_fails_once_and_is_not_redelivered(fake):
    fake.ack_timeout = 0.05
    async with aiohttp.ClientSession() as session:
        ws = await silent_client(fake, session)
        await fake.socket_post("slash_commands", slash_command_payload("1"))
        await fake.wait_until(lambda: len(fake.socket_failures) == 1, "one failed delivery")
        await ws.close()

    assert len(fake.socket_envelopes) == 1
    [(envelope, reason)] = fake.socket_failures
    assert (envelope["type"], reason) == ("slash_commands", "timeout")


async def test_an_http_answer_after_the_deadline_is_a_timeout(fake):
    from aiohttp import web

    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="too late")

    app = web.Application()
    app.router.add_post("/slack/events", slow)
    server = LoopbackServer(app, shutdown_timeout=0.1)
    await server.start()
    url = f"{server.url}/slack/events"
    fake.ack_timeout = 0.05
    try:
        answer = await fake.deliver(url, slash_command_body("1"), SIGNING_SECRET)
    finally:
        release.set()
        await server.stop()

    assert answer is None
    [timed_out] = fake.http_timeouts
    assert "text=1" in timed_out.body


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(**fields: str) -> dict[str, Any]:
    element = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, **fields}
    return {"type": "actions", "elements": [element]}


CARD = "https://maxims.example.org/cards/3.png"


def image(**fields: Any) -> dict[str, Any]:
    return {"type": "image", **fields}


def context_image(**fields: Any) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "image", **fields}]}


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": "x", "blocks": [section("y")] * 51}, "invalid_blocks"),
        ({"text": "x", "blocks": [section("y" * 3001)]}, "invalid_blocks"),
        ({"text": "x", "blocks": [button(action_id="a", value="v" * 2001)]}, "invalid_blocks"),
        ({"text": "x", "blocks": [button(action_id="a" * 256, value="v")]}, "invalid_blocks"),
        ({"text": "x", "blocks": [{**section("y"), "block_id": "b" * 256}]}, "invalid_blocks"),
        ({"text": "x" * 40_000}, None),
        ({"text": "x", "blocks": [section("y" * 3000)] * 50}, None),
        ({"text": "x", "blocks": [button(action_id="a" * 255, value="v" * 2000)]}, None),
        ({"text": "x", "blocks": [image(alt_text="a card")]}, "invalid_blocks"),
        (
            {"text": "x", "blocks": [image(image_url="/cards/3.png", alt_text="a")]},
            "invalid_blocks",
        ),
        (
            {"text": "x", "blocks": [image(image_url="data:image/png;base64,AA", alt_text="a")]},
            "invalid_blocks",
        ),
        (
            {"text": "x", "blocks": [image(image_url="ftp://x.test/3.png", alt_text="a")]},
            "invalid_blocks",
        ),
        ({"text": "x", "blocks": [image(image_url=CARD)]}, "invalid_blocks"),
        ({"text": "x", "blocks": [image(image_url=CARD, alt_text="")]}, "invalid_blocks"),
        ({"text": "x", "blocks": [image(image_url=CARD, alt_text="a" * 2001)]}, "invalid_blocks"),
        ({"text": "x", "blocks": [context_image(image_url=CARD)]}, "invalid_blocks"),
        ({"text": "x", "blocks": [image(image_url=CARD, alt_text="a" * 2000)]}, None),
        (
            {"text": "x", "blocks": [image(image_url="http://127.0.0.1:8/c.png", alt_text="a")]},
            None,
        ),
        ({"text": "x", "blocks": [context_image(image_url=CARD, alt_text="a")]}, None),
    ],
    ids=[
        "text",
        "51 blocks",
        "section text",
        "button value",
        "action_id",
        "block_id",
        "text at limit",
        "blocks at limit",
        "ids at limit",
        "image without a URL",
        "image with a relative URL",
        "image with a data URL",
        "image over ftp",
        "image without alt text",
        "image with empty alt text",
        "image with overlong alt text",
        "context image without alt text",
        "image alt text at limit",
        "image over http",
        "context image",
    ],
)
async def test_block_kit_limits_are_enforced_like_slack(fake, message, error):
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)

    if error is None:
        await client.chat_postMessage(channel="C1", **message)
        await client.chat_postEphemeral(channel="C1", user="U1", **message)
        return
    for post in (
        client.chat_postMessage(channel="C1", **message),
        client.chat_postEphemeral(channel="C1", user="U1", **message),
    ):
        with pytest.raises(SlackApiError) as caught:
            await post
        assert caught.value.response["error"] == error
    async with aiohttp.ClientSession() as session:
        response = await session.post(fake.response_url(), json=message)
        assert (response.status, await response.text()) == (400, error)
    assert fake.channel_messages("C1") == []


async def test_an_image_slack_cannot_download_fails_the_message(fake):
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    fake.images_unreachable = True

    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(
            channel="C1", text="x", blocks=[image(image_url=CARD, alt_text="a card")]
        )
    await client.chat_postMessage(channel="C1", text="no image, no download")

    assert caught.value.response["error"] == "invalid_blocks"
    assert [m["text"] for m in fake.channel_messages("C1")] == ["no image, no download"]
    async with aiohttp.ClientSession() as session:
        message = {"text": "x", "blocks": [image(image_url=CARD, alt_text="a card")]}
        response = await session.post(fake.response_url(), json=message)
        assert (response.status, await response.text()) == (400, "invalid_blocks")
    assert fake.responses == []


async def test_whether_a_message_asked_for_unfurls_is_recorded(fake):
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)

    asked = await client.chat_postMessage(channel="C1", text="<https://x.test>", unfurl_links=True)
    refused = await client.chat_postMessage(channel="C1", text="y", unfurl_links=False)
    silent = await client.chat_postMessage(channel="C1", text="z")

    assert fake.unfurl_links == {asked["ts"]: True, refused["ts"]: False, silent["ts"]: False}


async def test_posting_where_the_bot_is_no_member_is_not_in_channel(fake):
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)

    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C2", text="hi")
    fake.member_of.add("C2")  # invited
    await client.chat_postMessage(channel="C2", text="hi")

    assert caught.value.response["error"] == "not_in_channel"
    assert [m["text"] for m in fake.channel_messages("C2")] == ["hi"]


async def test_a_response_url_takes_five_messages_then_404(fake):
    url = fake.response_url("cmd")
    async with aiohttp.ClientSession() as session:
        answers = []
        for n in range(6):
            async with session.post(url, json={"text": str(n)}) as response:
                answers.append((response.status, await response.text()))

    assert answers == [(200, "ok")] * 5 + [(404, "used_url")]
    assert [body["text"] for _, body in fake.responses] == ["0", "1", "2", "3", "4"]


async def test_a_response_url_expires_after_30_minutes(fake):
    now = [1000.0]
    fake.clock = lambda: now[0]
    url = fake.response_url()
    async with aiohttp.ClientSession() as session:
        now[0] += 30 * 60
        async with session.post(url, json={"text": "in time"}) as response:
            in_time = response.status
        now[0] += 1
        async with session.post(url, json={"text": "late"}) as response:
            late = (response.status, await response.text())
        async with session.post(f"{fake.base_url}response/x/forged", json={"text": "?"}) as r:
            forged = r.status

    assert in_time == 200
    assert late == (404, "expired_url")
    assert forged == 404


# ------------------------------------------------------------------------------ App Home


def home_view(blocks: int) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    return {"type": "home", "blocks": [section] * blocks}


async def test_views_publish_keeps_each_users_home_within_100_blocks(fake: FakeSlack) -> None:
    client = fake.web_client()

    published = await client.views_publish(user_id="U1", view=home_view(100))
    with pytest.raises(SlackApiError) as too_many:
        await client.views_publish(user_id="U1", view=home_view(101))
    with pytest.raises(SlackApiError) as not_home:
        await client.views_publish(user_id="U2", view={**home_view(1), "type": "modal"})

    assert published["view"]["id"] == "VU1"
    assert len(fake.home_views["U1"]["blocks"]) == 100
    assert too_many.value.response["error"] == "invalid_arguments"
    assert not_home.value.response["error"] == "invalid_arguments"
    assert "U2" not in fake.home_views


async def test_views_publish_checks_the_hash_and_the_home_tab(fake: FakeSlack) -> None:
    client = fake.web_client()
    first = await client.views_publish(user_id="U1", view=home_view(1))
    await client.views_publish(user_id="U1", view=home_view(2), hash=first["view"]["hash"])

    with pytest.raises(SlackApiError) as stale:
        await client.views_publish(user_id="U1", view=home_view(3), hash=first["view"]["hash"])
    fake.home_tab_enabled = False
    with pytest.raises(SlackApiError) as off:
        await client.views_publish(user_id="U1", view=home_view(1))

    assert stale.value.response["error"] == "hash_conflict"
    assert off.value.response["error"] == "not_enabled"
    assert len(fake.home_views["U1"]["blocks"]) == 2


async def test_users_conversations_lists_a_users_channels_page_by_page(fake: FakeSlack) -> None:
    fake.member_of = {"C1", "CPRIV"}
    fake.private_channels = {"CPRIV", "CHIDDEN"}
    fake.channel_members = {
        "C1": {"U1"},
        "C2": {"U1"},
        "C3": {"U2"},
        "CPRIV": {"U1"},
        "CHIDDEN": {"U1"},  # private, without the bot: not for the bot to see
    }
    client = fake.web_client()
    types = "public_channel,private_channel"

    first = await client.users_conversations(user="U1", types=types, limit=2)
    second = await client.users_conversations(
        user="U1", types=types, limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    public = await client.users_conversations(user="U1")
    bots = await client.users_conversations()

    assert [c["id"] for c in first["channels"] + second["channels"]] == ["C1", "C2", "CPRIV"]
    assert second["response_metadata"]["next_cursor"] == ""
    assert [c["id"] for c in public["channels"]] == ["C1", "C2"]
    assert [c["id"] for c in bots["channels"]] == ["C1"]


async def test_the_bot_may_always_post_in_its_direct_messages(fake: FakeSlack) -> None:
    client = fake.web_client()

    await client.chat_postMessage(channel="DU1", text="hello")

    assert [m["text"] for m in fake.channel_messages("DU1")] == ["hello"]


async def test_app_home_and_direct_message_events_reach_bolt(fake: FakeSlack) -> None:
    app = AsyncApp(client=fake.web_client(), signing_secret="s", process_before_response=True)
    seen: list[tuple[str, str]] = []

    @app.event("app_home_opened")
    async def on_home(event: dict[str, Any]) -> None:
        seen.append(("home", f"{event['tab']} {event['channel']}"))

    @app.event("message")
    async def on_message(event: dict[str, Any]) -> None:
        seen.append(("message", f"{event['channel_type']} {event['channel']}"))

    @app.action("press")
    async def on_press(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        seen.append(("press", f"{body['container']['type']} {body['actions'][0]['value']}"))

    for built in (
        event_body(app_home_opened_event("U1")),
        event_body(direct_message_event("34", "U1"), event_id="Ev2"),
        home_actions_body("press", "v1"),
    ):
        response = await app.async_dispatch(built.bolt_request("s"))
        assert response.status == 200

    assert seen == [("home", "home DU1"), ("message", "im DU1"), ("press", "view v1")]
