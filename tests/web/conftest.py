"""The pages served for real on 127.0.0.1: `web_base_url`, and `running_pages` for variants.

The server runs in a thread with its own event loop, so synchronous tests (a browser, the
HTML checker, Lighthouse run as child processes) and async tests alike can reach it. It is
the bot's own serving code (`bot.web.serving.serve_pages`) with what bootstrap builds from
the settings (`bot.bootstrap.web_site`): the public URL is the address it listens on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.bootstrap import web_site
from bot.cards import CardCache
from bot.config import Settings
from bot.web.serving import serve_pages, utc_today
from maxims import load_corpus

DISCORD_CLIENT_ID = 987654321098765432
OAUTH_SECRETS = {
    "slack_client_id": "1.2",
    "slack_client_secret": "oauth-client-secret",
    "slack_signing_secret": "signing-secret",
}


def free_port() -> int:
    """A port nothing listens on now (the server binds it next; a clash is retried)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def web_settings(
    port: int,
    *,
    slack_oauth: bool = True,
    discord_client_id: int | None = DISCORD_CLIENT_ID,
    keep_days: int = 400,
    slack: dict[str, Any] | None = None,
    **web: Any,
) -> Settings:
    """Settings with the pages on `port` of loopback, public at that very address."""
    return Settings.model_validate(
        {
            "web": {
                "enabled": True,
                "port": port,
                "public_url": f"http://127.0.0.1:{port}",
                **web,
            },
            "discord": {"client_id": discord_client_id},
            "storage": {"keep_days": keep_days},
            "slack": slack or {},
            "secrets": OAUTH_SECRETS if slack_oauth else {},
        }
    )


class PagesThread:
    """The pages served from a thread of their own, until `stop`."""

    def __init__(self, settings: Settings, today: Callable[[], dt.date]) -> None:
        self.settings = settings
        self.today = today
        self.ready = threading.Event()
        self.problem: str | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=asyncio.run, args=(self.serve(),), daemon=True)

    async def serve(self) -> None:
        self.loop, self.stopping = asyncio.get_running_loop(), asyncio.Event()
        settings = self.settings
        try:
            async with serve_pages(
                settings.web,
                web_site(settings),
                corpus=load_corpus(),
                cards=CardCache(),
                limits=settings.server,
                today=self.today,
            ) as served:
                self.problem = served.problem
                self.ready.set()
                if served.problem is None:
                    await self.stopping.wait()
        finally:
            self.ready.set()

    def start(self) -> None:
        self.thread.start()
        if not self.ready.wait(30):
            raise AssertionError("the pages did not start within 30 s")

    def stop(self) -> None:
        if self.loop is not None and self.stopping is not None and self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)


@contextlib.contextmanager
def running_pages(*, today: Callable[[], dt.date] = utc_today, **options: Any) -> Iterator[str]:
    """Serve the pages (`options` as `web_settings` takes them); yield their base URL."""
    for _ in range(5):  # another worker may take the free port first: take another
        port = free_port()
        pages = PagesThread(web_settings(port, **options), today)
        pages.start()
        if pages.problem is None:
            break
        pages.stop()
    else:
        raise AssertionError(f"the pages could not listen: {pages.problem}")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        pages.stop()


@pytest.fixture(scope="session")
def web_base_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of the real pages, public at that address, both buttons on.

    Slack OAuth (client id and secret) and ``discord.client_id`` are configured, so the
    landing page shows "Add to Slack" and "Add to Discord".
    """
    with running_pages() as url:
        yield url
