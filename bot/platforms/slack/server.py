"""The aiohttp server of HTTP mode: ``POST /slack/events`` for Slack, ``GET /healthz`` for probes.

Every request to ``/slack/events`` is checked here, on its raw bytes, before Bolt sees it:
Bolt verifies signatures too, but when its verifier raises (a timestamp that is not a number)
it hands the *unverified* body to the error handler, whose `respond` would POST to any
``response_url`` a stranger wrote. So, in order: at most `MAX_BODY` bytes (413), Slack's
signature over the raw bytes within `MAX_AGE` (401), a body Bolt can parse (400), not seen
before (401: a replay). Only then does Bolt get it.

Replays: a request that can act on Slack (a button press, a change of the daily post) is
remembered in storage, so a repeat is refused by every process; any other request is answered
only in the HTTP response, which goes back to whoever sent it, so remembering it in this
process's memory is enough, and the hot path of `/maxim` never waits for a database write.

Named `server` rather than `http` so it can never shadow the standard library's `http`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from bot.platforms.slack.compat import to_bolt_request
from maxims import parse_query
from maxims.query import DailyOff, DailySet

log = logging.getLogger(__name__)

MAX_BODY = 256 * 1024  # Slack's largest payloads (a modal's view) are far below this
MAX_AGE = 300  # seconds: Slack's own replay window for a signed request
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


def body_problem(body: str, content_type: str) -> str | None:
    """None when Bolt can read `body` the way it parses Slack's requests; else what is wrong.

    Bolt reads JSON when the content type says so or the body starts with ``{``, and a form's
    ``payload`` field as JSON; both must be JSON objects or Bolt raises mid-request.
    """
    if content_type == "application/json" or body.lstrip().startswith(("{", "[", '"')):
        return _object_problem(body, "body")
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in fields:
        return _object_problem(fields["payload"], "payload")
    return None


def _object_problem(text: str, what: str) -> str | None:
    try:
        value = json.loads(text)
    except ValueError:
        return f"{what} is not JSON"
    return None if isinstance(value, dict) else f"{what} is not a JSON object"


def can_act(body: str, content_type: str) -> bool:
    """Whether handling this (well-formed) request may post or change something on its own.

    Button presses post or edit through the Web API and response URLs; a change of the daily
    post writes to storage and may answer through the response URL. Events are answered once
    per event id anyway (`ChatService`), and other commands only in the HTTP response.
    """
    if content_type == "application/json" or body.lstrip().startswith("{"):
        return False
    fields = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in fields:
        return True
    command = fields.get("command") or "/maxim"
    return isinstance(parse_query(fields.get("text", ""), command), DailySet | DailyOff)


class ReplayGuard:
    """Refuses a signed request seen before within `MAX_AGE`.

    In memory for every request; across processes (through `shared`) for requests that can act.
    """

    def __init__(self, shared: FirstSeen, clock: Callable[[], float]) -> None:
        self.shared = shared
        self.clock = clock
        self._seen: dict[str, float] = {}  # key -> when it may be forgotten

    async def first(self, key: str, *, acts: bool) -> bool:
        """True the first time `key` is seen (here, and across processes when `acts`)."""
        now = self.clock()
        if self._seen.get(key, 0.0) > now:
            return False
        if len(self._seen) > 50_000:
            self._seen = {k: t for k, t in self._seen.items() if t > now}
        self._seen[key] = now + 2 * MAX_AGE  # the timestamp may be MAX_AGE ahead, too
        return await self.shared(key) if acts else True


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
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            log.info("Slack HTTP: refused a request body over %d bytes", MAX_BODY)
            return _refuse(413, "request too large")
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        problem = signature_problem(secret, timestamp, signature, raw, clock())
        if problem is not None:
            log.info("Slack HTTP: refused an unverified request (%s)", problem)
            return _refuse(401, "invalid request")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            problem = "body is not UTF-8"
        else:
            problem = body_problem(body, request.content_type)
        if problem is not None:
            log.warning("Slack HTTP: refused a signed but malformed request (%s)", problem)
            return _refuse(400, "malformed request")
        acts = can_act(body, request.content_type)
        if not await replays.first(f"{timestamp}:{signature}", acts=acts):
            log.warning("Slack HTTP: refused a replayed request (signed at %s)", timestamp)
            return _refuse(401, "invalid request")
        bolt_request = to_bolt_request(body, request.query_string, request.headers)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def on_healthz(request: web.Request) -> web.Response:
        ok = healthy()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    async def without_server_header(request: web.Request, response: web.StreamResponse) -> None:
        # aiohttp names itself and Python's version in every response: tell no one.
        response.headers.popall("Server", None)

    web_app = web.Application(client_max_size=MAX_BODY)
    web_app.router.add_post("/slack/events", on_events)
    web_app.router.add_get("/healthz", on_healthz)
    web_app.on_response_prepare.append(without_server_header)
    return web_app
