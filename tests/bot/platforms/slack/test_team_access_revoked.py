"""Enterprise Grid: workspaces taken out of an org-wide installation stop their daily posts.

As in test_enterprise_grid.py, the bot runs its real HTTP server and Bolt's OAuth pages against
the emulator; here org E1 covers T1 (channel C1), T2 (C2, also installed on its own) and T3 (C3).
An org admin then takes T1 and T2 out of the org-wide installation: Slack sends
``team_access_revoked`` (`tests.fakes.slack.grid_events`). A single-token bot in Socket Mode
gets it too. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator

import pytest

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.platforms.slack.lifecycle import SlackPlatform
from bot.storage import Storage
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import platform_for, settings_for
from tests.bot.platforms.slack.test_enterprise_grid import ORG, command, deliver, install_org
from tests.bot.platforms.slack.test_oauth import CLIENT_ID, CLIENT_SECRET, install, oauth_bot
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.grid_events import give_back_team_access, take_out_of_org
from tests.helpers import subscription

NEXT_DAY = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
async def storage(db_url: str) -> AsyncIterator[Storage]:
    store = await Storage.open(db_url)
    yield store
    await store.close()


@pytest.fixture
async def bot(fake: FakeSlack, storage: Storage, started) -> SlackPlatform:
    """The bot in OAuth mode over org E1 (T1, T2, T3); T2 is also installed on its own."""
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    fake.add_workspace("T2", channels=["C2"])
    fake.add_workspace("T3", channels=["C3"])
    fake.add_enterprise(ORG, teams=["T1", "T2", "T3"])
    fake.users["U1"] = {"is_admin": True, "enterprise_user": {"enterprise_id": ORG}}
    platform = await started(oauth_bot(fake, storage))
    await install_org(platform, fake)
    assert await install(platform, fake, "T2") == 200
    return platform


async def set_daily_posts(bot: SlackPlatform, fake: FakeSlack, *teams: str) -> None:
    """`/maxim daily 09:00` in the channel of each workspace, through the org's install."""
    for team in teams:
        channel = f"C{team[1:]}"
        grid = {"enterprise_id": ORG, "enterprise_install": team != "T2"}  # T2: its own
        assert "09:00" in await command(bot, fake, "daily 09:00", team, channel, **grid)


async def channels(storage: Storage) -> list[str]:
    return [s.channel for s in await storage.list_subscriptions("slack")]


async def post_next_due_minute(
    poster_of: SlackPlatform, fake: FakeSlack, storage: Storage
) -> list[tuple[str, str]]:
    """The scheduler's job for 09:00 the next day; (channel, workspace) of each post made."""
    [sub, *_] = await storage.list_subscriptions("slack")
    scheduler = DailyScheduler(
        storage=storage,
        posters={"slack": poster_of.poster},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: NEXT_DAY,
    )
    fake.clear()
    await scheduler.run_slot(sub.time, sub.timezone)
    return sorted((p.body["channel"], p.team) for p in fake.calls_to("chat.postMessage") if p.ok)


async def test_workspaces_taken_out_of_the_org_install_lose_their_daily_posts_once(
    bot, fake, storage, caplog
):
    await set_daily_posts(bot, fake, "T1", "T2", "T3")
    caplog.set_level(logging.INFO)

    revoked = take_out_of_org(fake, ORG, ["T1", "T2"], team_id="T3")
    await deliver(bot, revoked)
    assert await channels(storage) == ["C2", "C3"]  # T2 posts with its own installation
    await deliver(bot, revoked, ago=1)  # Slack's retry
    assert await channels(storage) == ["C2", "C3"]

    posts = await post_next_due_minute(bot, fake, storage)
    assert posts == [("C2", "T2"), ("C3", "T3")]
    messages = [r.getMessage() for r in caplog.records]
    assert [m for m in messages if "dropped" in m] == [
        "Slack: 2 workspace(s) of E1 taken out of its org-wide installation: dropped 1 daily "
        "post(s) in 1 workspace(s) (1 keep theirs: installed on their own)"
    ]
    assert any("already handled (event EvTeamAccess)" in m for m in messages)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r for r in caplog.records if r.exc_info]
    assert not [m for m in messages if "xox" in m]  # no token in any line


async def test_a_replayed_team_access_revoked_cannot_drop_a_post_set_again(bot, fake, storage):
    await set_daily_posts(bot, fake, "T1", "T3")
    revoked = take_out_of_org(fake, ORG, ["T1"], team_id="T3")
    await deliver(bot, revoked)
    give_back_team_access(fake, ORG, "T1")  # the org admin adds T1 again at once
    await set_daily_posts(bot, fake, "T1")  # and T1's admins set their post again

    await deliver(bot, revoked, ago=1)  # the old event, replayed

    assert await channels(storage) == ["C1", "C3"]
    assert await post_next_due_minute(bot, fake, storage) == [("C1", "T1"), ("C3", "T3")]


async def test_a_single_token_bot_in_socket_mode_drops_the_posts_of_workspaces_taken_out(
    fake, storage, started
):
    await started(platform_for(settings_for(fake, mode="socket"), storage))
    fake.add_workspace("T3", channels=["C3"])
    fake.add_enterprise(ORG, teams=["T1", "T3"])
    for team in ("T1", "T3"):
        await storage.save_subscription(
            subscription(f"C{team[1:]}", workspace=team, enterprise=ORG)
        )

    revoked = take_out_of_org(fake, ORG, ["T1"], team_id="T3")
    ack = await fake.socket_send("events_api", revoked, accepts_response_payload=False)

    assert "payload" not in ack
    assert await channels(storage) == ["C3"]
