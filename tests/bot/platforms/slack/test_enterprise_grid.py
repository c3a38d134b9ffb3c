"""Enterprise Grid end to end: an org-wide installation posts daily, and its uninstall stops it.

The bot runs its real HTTP server and Bolt's OAuth pages (as in test_oauth.py) against the
emulator, which serves org E1 over workspaces T1 (channel C1) and T2 (channel C2), and T3
(channel C3) outside any org. An org-wide installation has one token for the org and no team;
a workspace's own installation, where there is one, goes first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from typing import Any

import pytest

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.platforms.slack.lifecycle import SlackPlatform
from bot.storage import Storage
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import post
from tests.bot.platforms.slack.test_oauth import CLIENT_ID, CLIENT_SECRET, install, oauth_bot
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.payloads import (
    SlackRequestBody,
    event_body,
    message_event,
    slash_command_body,
)

ORG = "E1"
DAY = dt.date(2026, 12, 1)


@pytest.fixture
async def bot(fake: FakeSlack, storage: Storage, started) -> SlackPlatform:
    """The bot in OAuth mode; org E1 (T1, T2) and the lone T3 may install it."""
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    fake.add_workspace("T2", channels=["C2"])
    fake.add_workspace("T3", channels=["C3"])
    fake.add_enterprise(ORG, teams=["T1", "T2"])
    fake.users["U1"] = {"is_admin": True, "enterprise_user": {"enterprise_id": ORG}}
    return await started(oauth_bot(fake, storage))


async def install_org(bot: SlackPlatform, fake: FakeSlack) -> None:
    """An org admin adds the app to the whole org on Slack's page ("Allow" for E1)."""
    fake.next_install_enterprise = ORG
    assert await install(bot, fake, None) == 200
    assert fake.installs[-1] == ORG


async def command(
    bot: SlackPlatform, fake: FakeSlack, text: str, team: str, channel: str, **grid: Any
) -> str:
    """`/maxim text` typed in `channel` of `team`; the acknowledgement's text (its JSON)."""
    built = slash_command_body(
        text, channel_id=channel, team_id=team, response_url=fake.response_url("cmd"), **grid
    )
    assert bot.port is not None
    status, answer = await post(bot.port, built)
    assert status == 200
    await bot.background.drain(timeout=5)
    return answer


async def deliver(bot: SlackPlatform, payload: dict[str, Any], *, ago: int = 0) -> None:
    """Slack delivers an Events API callback (signed `ago` seconds back: a new signature)."""
    assert bot.port is not None
    body = SlackRequestBody(json.dumps(payload), "application/json")
    status, _ = await post(bot.port, body, timestamp=int(time.time()) - ago)
    assert status == 200
    await bot.background.drain(timeout=5)


def scheduler_of(bot: SlackPlatform, storage: Storage) -> DailyScheduler:
    return DailyScheduler(
        storage=storage,
        posters={"slack": bot.poster},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
    )


async def post_due(bot: SlackPlatform, storage: Storage, day: dt.date) -> list[bool]:
    """The scheduler's delivery of every stored Slack daily post for `day`."""
    scheduler = scheduler_of(bot, storage)
    return [await scheduler.deliver(s, day) for s in await storage.list_subscriptions("slack")]


async def test_an_org_wide_install_posts_daily_with_the_org_token_until_it_is_uninstalled(
    bot, fake, storage, caplog
):
    await install_org(bot, fake)
    await install(bot, fake, "T2")  # T2 also has an installation of its own
    set_t1 = await command(
        bot, fake, "daily 09:00", "T1", "C1", enterprise_id=ORG, enterprise_install=True
    )
    set_t2 = await command(bot, fake, "daily 09:00", "T2", "C2", enterprise_id=ORG)
    assert "09:00" in set_t1
    assert "09:00" in set_t2
    t1 = await storage.get_subscription("slack", "C1")
    assert t1 is not None
    assert (t1.workspace, t1.enterprise) == ("T1", ORG)

    assert await post_due(bot, storage, DAY) == [True, True]
    posts = fake.calls_to("chat.postMessage")
    assert [(p.body["channel"], p.team, p.ok) for p in posts] == [
        ("C1", "T1", True),
        ("C2", "T2", True),
    ]
    assert posts[0].token in fake.org_tokens(ORG)  # T1 has no installation of its own
    assert posts[1].token in fake.tokens_for("T2")  # T2's own goes first

    caplog.clear()
    caplog.set_level(logging.INFO)
    await deliver(bot, fake.uninstall_org(ORG))
    fake.clear()
    assert await post_due(bot, storage, DAY + dt.timedelta(days=1)) == [True]

    posts = fake.calls_to("chat.postMessage")
    assert [(p.body["channel"], p.team) for p in posts] == [("C2", "T2")]
    assert [s.channel for s in await storage.list_subscriptions("slack")] == ["C2"]
    assert await bot.installs.client_for("T1", ORG) is None
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("org-wide installation of E1" in r.getMessage() for r in caplog.records)


async def test_an_org_uninstall_is_acted_on_once_per_event_id(bot, fake, storage):
    await install_org(bot, fake)
    uninstalled = fake.uninstall_org(ORG)
    await deliver(bot, uninstalled)
    await install_org(bot, fake)  # the org comes back at once, and sets its post again
    await command(bot, fake, "daily 09:00", "T1", "C1", enterprise_id=ORG, enterprise_install=True)

    await deliver(bot, uninstalled, ago=1)  # Slack's retry of the old event

    assert [s.channel for s in await storage.list_subscriptions("slack")] == ["C1"]
    assert await bot.installs.client_for("T1", ORG) is not None


async def test_commands_and_events_of_an_org_install_are_answered_with_the_org_token(bot, fake):
    await install_org(bot, fake)

    answer = await command(bot, fake, "3", "T2", "C2", enterprise_id=ORG, enterprise_install=True)
    alone = await command(bot, fake, "3", "T3", "C3")  # T3 installed nothing
    nan = message_event("loss is NaN", channel_id="C2")
    await deliver(bot, json.loads(event_body(nan, "Ev1", "T2", enterprise_id=ORG).body))

    assert json.loads(answer)["text"].startswith("Preview. Maxim 3:")  # authorised by E1
    assert alone == ""
    [reply] = fake.calls_to("chat.postMessage")
    assert (reply.body["channel"], reply.team, reply.ok) == ("C2", "T2", True)
    assert reply.token in fake.org_tokens(ORG)


async def test_a_workspace_taken_out_of_the_org_install_stops_its_post_once(
    bot, fake, storage, caplog
):
    await install_org(bot, fake)
    await command(bot, fake, "daily 09:00", "T1", "C1", enterprise_id=ORG, enterprise_install=True)
    fake.revoke_team_access(ORG, "T1")  # an org admin removed the app from T1 alone

    assert await post_due(bot, storage, DAY) == [False]

    [refused] = fake.calls_to("chat.postMessage")
    assert refused.error == "team_access_not_granted"
    sub = await storage.get_subscription("slack", "C1")
    assert sub is not None
    assert sub.failing == "team_access_not_granted"  # failing for good, not retried daily
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        "daily post to slack C1 failed for good (team_access_not_granted); "
        "marking the subscription failing"
    ]
