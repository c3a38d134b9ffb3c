"""The aiohttp server of HTTP mode: ``POST /slack/events`` for Slack, ``GET /healthz`` for probes.

Named `server` rather than `http` so it can never shadow the standard library's `http`.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from bot.platforms.slack.compat import to_bolt_request


def build_http_app(app: AsyncApp, healthy: Callable[[], bool]) -> web.Application:
    """``POST /slack/events`` for Slack (signed), ``GET /healthz`` for probes."""

    async def on_events(request: web.Request) -> web.Response:
        bolt_request = to_bolt_request(await request.text(), request.query_string, request.headers)
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def on_healthz(request: web.Request) -> web.Response:
        ok = healthy()
        return web.json_response({"ok": ok}, status=200 if ok else 503)

    web_app = web.Application()
    web_app.router.add_post("/slack/events", on_events)
    web_app.router.add_get("/healthz", on_healthz)
    return web_app
