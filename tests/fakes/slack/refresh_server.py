"""Loopback fake of Slack's token refresh: ``oauth.v2.access`` with ``grant_type=refresh_token``.

The installation store's rotation tests drive a real `AsyncTokenRotator` and `AsyncWebClient`
against this, so slack_sdk's own request and response handling runs as in production. Each
refresh is recorded, and `delay` holds every answer for a while, so two processes racing to
refresh really overlap. A refresh token listed in `refused` gets ``invalid_refresh_token``.

Refresh tokens starting with ``xoxe-1-user`` are user tokens, any other a bot token; answers
are numbered (``xoxe.xoxb-new-1``...) so a test can tell refreshes apart.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from aiohttp import web

EXPIRES_IN = 43_200  # Slack's rotating tokens live 12 hours


@dataclass(frozen=True)
class Refresh:
    """One ``oauth.v2.access`` request as received."""

    grant_type: str
    refresh_token: str
    authorization: str | None


class FakeSlackOAuth:
    """An aiohttp server on 127.0.0.1 answering token refreshes; see the module docstring."""

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay
        self.refreshes: list[Refresh] = []
        self.refused: set[str] = set()
        self._runner: web.AppRunner | None = None
        self._port = 0

    @property
    def url(self) -> str:
        """The base URL for ``AsyncWebClient(base_url=...)``."""
        return f"http://127.0.0.1:{self._port}/api/"

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/api/oauth.v2.access", self._refresh)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(runner.addresses[0][1])
        self._runner = runner
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _refresh(self, request: web.Request) -> web.Response:
        form = await request.post()
        refresh = Refresh(
            grant_type=str(form.get("grant_type", "")),
            refresh_token=str(form.get("refresh_token", "")),
            authorization=request.headers.get("Authorization"),
        )
        self.refreshes.append(refresh)
        await asyncio.sleep(self.delay)
        if refresh.grant_type != "refresh_token":
            return web.json_response({"ok": False, "error": "invalid_grant_type"})
        if refresh.refresh_token in self.refused:
            return web.json_response({"ok": False, "error": "invalid_refresh_token"})
        number = len(self.refreshes)
        user = refresh.refresh_token.startswith("xoxe-1-user")
        body: dict[str, Any] = {
            "ok": True,
            "app_id": "A1",
            "token_type": "user" if user else "bot",
            "access_token": f"xoxe.xox{'p' if user else 'b'}-new-{number}",
            "refresh_token": f"xoxe-1-{'user' if user else 'bot'}-new-{number}",
            "expires_in": EXPIRES_IN,
        }
        return web.json_response(body)
