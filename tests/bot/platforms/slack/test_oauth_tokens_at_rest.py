"""Slack OAuth with ``MAXIM_STORAGE_KEY`` set: the bot installs, answers and posts as before,
while the database holds no token; with the key missing or wrong it refuses to start.

The platform is built the way the composition root builds it (`build_platforms`, from
`Settings` with the key), on real SQLite and real PostgreSQL (`db_url`).
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.bootstrap import build_platforms
from bot.config import ScheduleConfig, Settings
from bot.daily.scheduler import DailyScheduler
from bot.platforms import StartupError
from bot.platforms.slack.lifecycle import SlackPlatform
from bot.storage import Storage
from bot.storage.slack.tables import slack_bots, slack_installations
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import SECRET, daily_subscription, make_service
from tests.bot.platforms.slack.test_oauth import CLIENT_ID, CLIENT_SECRET, free_port, install, say
from tests.fakes.slack.api import FakeSlack

KEY = Fernet.generate_key().decode()


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    store = await Storage.open(db_url)
    yield store
    await store.close()


def oauth_platform(fake: FakeSlack, storage: Storage, key: str | None) -> SlackPlatform:
    """The Slack platform in OAuth mode as `bot.bootstrap` builds it, with `key` or none."""
    port = free_port()
    secrets = {
        "slack_signing_secret": SECRET,
        "slack_client_id": CLIENT_ID,
        "slack_client_secret": CLIENT_SECRET,
    }
    settings = Settings.model_validate(
        {
            "slack": {
                "api_url": fake.url,
                "mode": "http",
                "http_port": port,
                "redirect_uri": f"http://127.0.0.1:{port}/slack/oauth_redirect",
            },
            "console": {"enabled": False},
            "secrets": secrets | ({"storage_key": key} if key else {}),
        }
    )
    [platform] = build_platforms(
        settings,
        make_service(storage),
        healthy=lambda: True,
        stdin=io.StringIO(),
        stdout=io.StringIO(),
    )
    assert isinstance(platform, SlackPlatform)
    return platform


async def stored_text(storage: Storage) -> str:
    async with storage.engine.connect() as conn:
        rows = [
            *await conn.execute(sa.select(slack_installations)),
            *await conn.execute(sa.select(slack_bots)),
        ]
    return " ".join(str(value) for row in rows for value in row)


async def test_with_a_key_the_bot_installs_answers_and_posts_and_stores_no_token(
    fake: FakeSlack, storage: Storage, started
):
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    fake.add_workspace("T2", channels=["C2"])
    bot = await started(oauth_platform(fake, storage, KEY))
    assert await install(bot, fake, "T1") == 200
    assert await install(bot, fake, "T2") == 200

    await say(bot, "T1", "C1", "loss is NaN", "Ev1")
    scheduler = DailyScheduler(
        storage=storage,
        posters={"slack": bot.poster},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
    )
    assert await scheduler.deliver(daily_subscription("C2", "T2"), dt.date(2026, 12, 1))

    answers = fake.calls_to("chat.postMessage")
    assert [(a.body["channel"], a.team, a.ok) for a in answers] == [
        ("C1", "T1", True),
        ("C2", "T2", True),
    ]
    assert answers[0].token in fake.tokens_for("T1")
    assert answers[1].token in fake.tokens_for("T2")
    stored = await stored_text(storage)
    issued = [*fake.tokens_for("T1"), *fake.tokens_for("T2")]
    assert issued
    assert not [token for token in issued if token in stored]
    assert "fernet:" in stored


@pytest.mark.parametrize("key", [None, Fernet.generate_key().decode()], ids=["none", "wrong"])
async def test_tokens_stored_encrypted_stop_a_start_without_their_key(
    fake: FakeSlack, storage: Storage, started, key: str | None
):
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    bot = await started(oauth_platform(fake, storage, KEY))
    assert await install(bot, fake, "T1") == 200
    await bot.stop()

    with pytest.raises(StartupError) as refused:  # the runner exits 2 with this line
        await started(oauth_platform(fake, storage, key))
    assert str(refused.value).startswith("Slack: MAXIM_STORAGE_KEY: ")
    assert KEY not in str(refused.value)


async def test_tokens_stored_before_the_key_still_work_and_the_start_says_to_encrypt_them(
    fake: FakeSlack, storage: Storage, started, caplog
):
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    bot = await started(oauth_platform(fake, storage, None))
    assert await install(bot, fake, "T1") == 200
    await bot.stop()
    assert "fernet:" not in await stored_text(storage)

    with caplog.at_level(logging.WARNING, logger="bot.platforms.slack"):
        bot = await started(oauth_platform(fake, storage, KEY))
    [warning] = [r.getMessage() for r in caplog.records if "not encrypted" in r.getMessage()]
    assert warning.endswith("are not encrypted yet: run `maxim-bot migrate --rotate-key`")
    await say(bot, "T1", "C1", "loss is NaN", "Ev1")
    [answer] = fake.calls_to("chat.postMessage")
    assert (answer.team, answer.ok) == ("T1", True)
    assert answer.token in fake.tokens_for("T1")
