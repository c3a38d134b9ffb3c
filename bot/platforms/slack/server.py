"""The aiohttp server of HTTP mode: ``POST /slack/events`` for Slack, ``GET /healthz`` for probes.

With OAuth (many workspaces) it also serves Bolt's ``GET /slack/install`` and
``GET /slack/oauth_redirect``: those are opened by people's browsers, carry no signature, and
are protected by the OAuth state (a cookie and a signed, expiring, single-use value) instead.

Every request to ``/slack/events`` is checked here, on its raw bytes, before Bolt sees it:
Bolt verifies signatures too, but when its verifier raises (a timestamp that is not a number)
it hands the *unverified* body to the error handler, whose `respond` would POST to any
``response_url`` a stranger wrote. So, in order: at most `MAX_BODY` bytes (413), Slack's
signature over the raw bytes within `MAX_AGE` (401), a body Bolt can parse (400), and, for
a command or an interaction, not seen before (401: a replay). Only then does Bolt get it, with
the body already read (Bolt's own signature check is off in HTTP mode: it would only repeat
this one, at a cost).

Replays: a request that can act on Slack (a button press, a change of the daily post) is
remembered in storage, so a repeat is refused by every process; a command that is answered
only in the HTTP response, which goes back to whoever sent it, is remembered in this process's
memory, so the hot path of `/maxim` never waits for a database write. Events API deliveries
are never refused as replays: Slack redelivers an event it saw no answer to in time with the
same body, and one signed in the same second as the first carries the same signature. Refused,
it would count as a failed delivery (enough of them and Slack turns the app's events off);
acknowledged, it reaches the listeners, which act on each event id once, across processes
(`app_uninstalled` and `tokens_revoked` included: a replayed one cannot delete a reinstall).

Named `server` rather than `http` so it can never shadow the standard library's `http`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal, NamedTuple, cast
from urllib.parse import unquote_plus

from aiohttp import web
from multidict import CIMultiDict
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.platforms.slack.compat import to_bolt_request
from maxims import parse_query
from maxims.query import changes_daily

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # Slack's largest payloads (a modal's view) are far below this
MAX_AGE = 300  # seconds: Slack's own replay window for a signed request
MAX_DEPTH = 64  # levels of JSON nesting; Slack's deepest payloads (Block Kit views) use ~12
FirstSeen = Callable[[str], Awaitable[bool]]  # True the first time a key is seen, across processes
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


def signature_problem(
    secret: bytes, timestamp: str, signature: str, body: bytes, now: float
) -> str | None:
    """None when Slack signed `body` at `timestamp`, within `MAX_AGE` of `now`; else why not."""
    if not _TIMESTAMP.fullmatch(timestamp):
        return "no valid timestamp"
    if abs(now - int(timestamp)) > MAX_AGE:
        return "timestamp outside the 5-minute window"
    if not _SIGNATURE.fullmatch(signature):
        return "no valid signature"
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    if not hmac.compare_digest(f"v0={digest.hexdigest()}", signature):
        return "wrong signature"
    return None


class SlackBody(NamedTuple):
    """A request body read once, the way Slack sends it: what Bolt gets, and what it is."""

    fields: dict[str, Any]
    kind: Literal["json", "interaction", "form"]  # Events API, a button press, a command


def read_body(body: str, content_type: str) -> SlackBody | str:
    """The fields of a signed request, or what is wrong with it (a string).

    JSON when the content type says so or the body starts like JSON; otherwise a form, whose
    ``payload`` field (an interaction) must be a JSON object. Read here once, for the checks
    and for Bolt alike: parsing it three times cost a quarter of a request's time under load.
    Unlike Bolt's own reading, a command whose text contains the word "payload" stays a
    command.
    """
    if content_type == "application/json" or body.lstrip().startswith(("{", "[", '"')):
        fields = _json_object(body)
        return SlackBody(fields, "json") if isinstance(fields, dict) else f"body {fields}"
    form = parse_form(body)
    if "payload" not in form:
        return SlackBody(form, "form")
    fields = _json_object(form["payload"])
    return SlackBody(fields, "interaction") if isinstance(fields, dict) else f"payload {fields}"


def parse_form(body: str) -> dict[str, str]:
    """A form body's fields: ``dict(parse_qsl(body, keep_blank_values=True))``, in half the time.

    Slack's form fields are mostly plain (``team_id=T1``): only a field holding ``%`` or ``+``
    is decoded, by the same `unquote_plus` that `parse_qsl` uses. The result is the same for
    every string (a property test holds it to `parse_qsl`); on a slash command it saves about
    ten microseconds, a tenth of what the bot adds to Bolt per request.
    """
    fields: dict[str, str] = {}
    for pair in body.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if "%" in name or "+" in name:
            name = unquote_plus(name)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        fields[name] = value
    return fields


def _json_object(text: str) -> dict[str, Any] | str:
    """The JSON object in `text`, or what it is instead ("is not JSON", ...).

    Nesting is limited to `MAX_DEPTH`: the parser recurses once per level, so a body of a few
    thousand brackets raised `RecursionError` (a 500 and a traceback), and one just under the
    interpreter's limit would pass the parser only to fail in whatever walked it next. Only a
    text holding more brackets than `MAX_DEPTH` can be that deep, so most are not walked.
    """
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "is not JSON"
    if not isinstance(value, dict):
        return "is not a JSON object"
    if text.count("{") + text.count("[") > MAX_DEPTH and _deeper_than(value, MAX_DEPTH):
        return f"is nested deeper than {MAX_DEPTH} levels"
    return value


def _deeper_than(value: dict[str, Any], limit: int) -> bool:
    """Whether containers in `value` nest more than `limit` levels (without recursing)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def can_act(body: SlackBody) -> bool:
    """Whether handling this request may post or change something on its own.

    Button presses post or edit through the Web API and response URLs; a change of the daily
    post writes to storage and may answer through the response URL. Events never reach the
    replay guard (they are acted on once per event id, across processes), and other commands
    are answered only in the HTTP response.
    """
    if body.kind != "form":
        return body.kind == "interaction"
    command = str(body.fields.get("command") or "/maxim")
    return changes_daily(parse_query(str(body.fields.get("text", "")), command))


class ReplayGuard:
    """Refuses a signed request seen before within `MAX_AGE`.

    In memory for every request; across processes (through `shared`) for requests that can act.
    Keys are forgotten in the order they were first seen, once they have expired: a constant
    cost per request however many arrive in the window (a whole-table sweep on every request
    past a size limit made a busy bot slower the busier it was).
    """

    def __init__(self, shared: FirstSeen, clock: Callable[[], float]) -> None:
        self.shared = shared
        self.clock = clock
        self._seen: set[str] = set()
        self._expiry: deque[tuple[float, str]] = deque()  # (when it may be forgotten, key)

    def __len__(self) -> int:
        return len(self._seen)

    async def first(self, key: str, *, acts: bool) -> bool:
        """True the first time `key` is seen (here, and across processes when `acts`)."""
        now = self.clock()
        while self._expiry and self._expiry[0][0] <= now:
            self._seen.discard(self._expiry.popleft()[1])
        if key in self._seen:
            return False
        self._seen.add(key)
        self._expiry.append((now + 2 * MAX_AGE, key))  # the timestamp may be MAX_AGE ahead, too
        return await self.shared(key) if acts else True


def add_oauth_routes(web_app: web.Application, flow: AsyncOAuthFlow) -> None:
    """Bolt's OAuth flow, as its own aiohttp adapter runs it, but with every header kept.

    ``GET /slack/install`` redirects to Slack's authorize page (and sets the state cookie);
    ``GET /slack/oauth_redirect`` is where Slack sends the browser back with a code to exchange.
    Bolt's adapter rebuilds cookies from ``Secure`` and ``HttpOnly`` alone, dropping
    ``SameSite``: each header goes out here as the flow wrote it.
    """

    async def on_install(request: web.Request) -> web.Response:
        headers = cast("dict[str, Any]", request.headers)  # Bolt reads any mapping's items()
        bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=headers)
        if request.path == flow.install_path:
            return _page(await flow.handle_installation(bolt_request))
        return _page(await flow.handle_callback(bolt_request))

    web_app.router.add_get(flow.install_path, on_install)
    web_app.router.add_get(flow.redirect_uri_path, on_install)


def _page(page: BoltResponse) -> web.Response:
    headers = CIMultiDict(
        (name, value) for name, values in page.headers.items() for value in values
    )
    return web.Response(status=page.status, body=page.body.encode(), headers=headers)


def _refuse(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text)


def build_http_app(
    app: AsyncApp,
    healthy: Callable[[], bool],
    *,
    signing_secret: str,
    first_seen: FirstSeen,
    clock: Callable[[], float] = time.time,
) -> web.Application:
    """``POST /slack/events`` for Slack (verified here, then Bolt), ``GET /healthz`` for probes.

    Args:
        app: the Bolt app answering verified requests.
        healthy: whether the rest of the bot is up, for ``/healthz``.
        signing_secret: the app's signing secret (``SLACK_SIGNING_SECRET``).
        first_seen: remembers each (timestamp, signature) for at least `MAX_AGE`, shared by
            every process, so a captured request cannot be replayed.
        clock: POSIX time, for the signature's age.

    """
    secret = signing_secret.encode()
    replays = ReplayGuard(first_seen, clock)

    async def on_events(request: web.Request) -> web.Response:
        raw = await request.read()  # read already, within its limits (`bot.listen`)
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        problem = signature_problem(secret, timestamp, signature, raw, clock())
        if problem is not None:
            log.info("Slack HTTP: refused an unverified request (%s)", problem)
            return _refuse(401, "invalid request")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            body: SlackBody | str = "body is not UTF-8"
        else:
            body = read_body(text, request.content_type)
        if isinstance(body, str):
            log.warning("Slack HTTP: refused a signed but malformed request (%s)", body)
            return _refuse(400, "malformed request")
        if body.kind != "json" and not await replays.first(
            f"{timestamp}:{signature}", acts=can_act(body)
        ):
            log.warning("Slack HTTP: refused a replayed request (signed at %s)", timestamp)
            return _refuse(401, "invalid request")
        bolt_request = to_bolt_request(text, body.fields, request.query_string, request.headers)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def on_healthz(request: web.Request) -> web.Response:
        ok = healthy()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.router.add_post("/slack/events", on_events)
    if app.oauth_flow is not None:
        add_oauth_routes(web_app, app.oauth_flow)
    web_app.router.add_get("/healthz", on_healthz)
    return web_app
