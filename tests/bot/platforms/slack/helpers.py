"""What the Slack tests share: tokens, a small corpus and a chat service over it.

Everything runs the real slack-bolt and slack_sdk against `tests.fakes.slack.api`.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_bolt.response import BoltResponse

from bot.background import Background
from bot.bootstrap import build_service
from bot.chat import ChatService
from bot.config import Settings, TriggersConfig
from bot.platforms.slack.admins import SlackAdmins
from bot.platforms.slack.app import build_slack_app
from bot.platforms.slack.lifecycle import SlackPlatform
from bot.platforms.slack.links import public_pages
from bot.platforms.slack.web import build_web_client
from bot.storage import Storage, Subscription
from maxims import Corpus, Maxim
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.payloads import block_actions_body, slash_command_body
from tests.helpers import subscription

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
SECRET = "test-signing-secret"
NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
# A small corpus: one maxim full of Slack control characters, two NaN maxims, two on dropout.
CORPUS = Corpus(
    [
        Maxim(1, "Escape <!channel> & <@U999> before <https://x.test|clicking>.", ("testing",)),
        Maxim(2, "If you’re seeing NaN, you need a smaller learning rate.", ("nan",)),
        Maxim(3, "Dropout is not a fix for a leaky validation set.", ("dropout",)),
        Maxim(4, "A NaN is a bug report from your optimiser.", ("nan", "debugging")),
        Maxim(5, "More dropout, fewer excuses.", ("dropout", "regularization")),
    ]
)


def daily_subscription(
    channel: str = "C1", workspace: str = "T1", *, at: dt.time = dt.time(9, 0)
) -> Subscription:
    """A channel's daily post at `at` UTC, set by U1 the day before `NOW`."""
    return subscription(channel, workspace=workspace, time=at, set_at=NOW - dt.timedelta(days=1))


def make_service(storage: Storage, seed: int = 1, corpus: Corpus = CORPUS) -> ChatService:
    """The chat service over `corpus` (the small one), at `NOW`, with no trigger cooldown."""
    settings = Settings(triggers=TriggersConfig(cooldown_seconds=0))
    return build_service(
        settings, storage, clock=lambda: NOW, rng=random.Random(seed), corpus=corpus
    )


def settings_for(
    fake: FakeSlack,
    *,
    secrets: dict[str, str] | None = None,
    public_url: str | None = None,
    **slack: Any,
) -> Settings:
    """Settings pointing at the emulator: HTTP mode on a free port unless `slack` says otherwise.

    `public_url` is ``web.public_url``: cards shown as images from there, maxims linked.
    """
    return Settings.model_validate(
        {
            "web": {"public_url": public_url},
            "slack": {"api_url": fake.url, "mode": "http", "http_port": 0, **slack},
            "secrets": secrets
            if secrets is not None
            else {
                "slack_bot_token": BOT_TOKEN,
                "slack_app_token": APP_TOKEN,
                "slack_signing_secret": SECRET,
            },
        }
    )


def platform_for(settings: Settings, storage: Storage, **options: Any) -> SlackPlatform:
    """The Slack platform as the composition root builds it, over the test service."""
    options.setdefault("public_url", settings.web.public_url)
    return SlackPlatform(make_service(storage), settings.slack, settings.secrets, **options)


async def post(port: int, built, *, secret: str = SECRET, timestamp: int | None = None):
    headers = built.headers(secret, timestamp)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"http://127.0.0.1:{port}/slack/events", data=built.body.encode(), headers=headers
        ) as response,
    ):
        return response.status, await response.text()


async def healthz(port: int) -> int:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/healthz") as response,
    ):
        return response.status


async def send(
    port: int, body: bytes, headers: dict[str, str], path: str = "/slack/events"
) -> tuple[int, str, dict[str, str]]:
    """POST raw bytes with exactly these headers: (status, text, response headers)."""
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as response,
    ):
        return response.status, await response.text(), dict(response.headers)


@dataclass
class Bot:
    """A built app plus what tests look at."""

    fake: FakeSlack
    settings: Settings
    service: ChatService
    background: Background = field(default_factory=lambda: Background("Slack"))
    ack_deadline: float = 2.0
    admins: SlackAdmins | None = None  # the default: ``slack.admins`` plus users.info

    def __post_init__(self) -> None:
        self.app = build_slack_app(
            self.service,
            self.settings.slack,
            self.settings.secrets,
            client=build_web_client(self.settings.slack, self.settings.secrets),
            background=self.background,
            ack_deadline=self.ack_deadline,
            pages=public_pages(self.settings.web.public_url),
            admins=self.admins,
        )

    async def dispatch(self, built) -> BoltResponse:
        return await self.app.async_dispatch(built.bolt_request(SECRET))

    async def command(self, text: str, user: str = "U1", **kwargs: Any) -> dict[str, Any]:
        url = self.fake.response_url("cmd")
        response = await self.dispatch(
            slash_command_body(text, user_id=user, response_url=url, **kwargs)
        )
        assert response.status == 200
        return json.loads(response.body)

    async def click(self, action: str, value: str, user: str = "U1") -> None:
        url = self.fake.response_url("btn")
        response = await self.dispatch(
            block_actions_body(action, value, user_id=user, response_url=url)
        )
        assert response.status == 200
        assert response.body == ""  # a button never answers in its acknowledgement
        await self.settle()

    async def settle(self) -> None:
        assert await self.background.drain(timeout=5)
