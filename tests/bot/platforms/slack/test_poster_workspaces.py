"""Daily posts to Slack installed in many workspaces (OAuth): each with its workspace's token.

The emulator serves two workspaces, each answering only to its own bot token; `clients` maps a
team id to a real `AsyncWebClient` carrying that token, as the OAuth installation store would.
A workspace the app is not installed in has no client: nothing is posted there.
"""

from __future__ import annotations

import datetime as dt

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler, post_key
from bot.platforms.slack.poster import SlackPoster
from bot.platforms.slack.web import ClientFor
from bot.poster import ChannelUnavailable, PostError
from bot.storage import Storage
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import BOT_TOKEN, daily_subscription
from tests.fakes.slack.api import FakeSlack

DAY = dt.date(2026, 11, 28)
NOW = dt.datetime(2026, 11, 28, 9, 1, tzinfo=dt.UTC)
T2_TOKEN = "xoxb-t2"


@pytest.fixture
def clients(fake: FakeSlack) -> ClientFor:
    """T1 (the fake's default workspace, channel C1) and T2 (channel C2) are installed."""
    fake.add_workspace("T2", channels=["C2"], bot_token=T2_TOKEN)
    by_team = {"T1": fake.web_client(BOT_TOKEN), "T2": fake.web_client(T2_TOKEN)}

    async def client_for(workspace: str, channel: str) -> AsyncWebClient | None:
        return by_team.get(workspace)

    return client_for


def oauth_poster(fake: FakeSlack, clients: ClientFor) -> SlackPoster:
    # The single-workspace client has no token: a call through it would be `not_authed`.
    return SlackPoster(AsyncWebClient(base_url=fake.url), clients=clients)


async def test_each_workspace_is_posted_to_and_searched_with_its_own_token(fake, clients):
    poster = oauth_poster(fake, clients)
    maxim = load_corpus().get(34)

    await poster.post("C1", maxim, key=post_key("slack", "C1", DAY), workspace="T1")
    ts = await poster.post("C2", maxim, key=post_key("slack", "C2", DAY), workspace="T2")
    since = dt.datetime.fromtimestamp(float(ts) - 60, dt.UTC)
    found = await poster.find_post("C2", post_key("slack", "C2", DAY), since=since, workspace="T2")

    assert found == ts
    posts = fake.calls_to("chat.postMessage")
    assert [(c.body["channel"], c.team, c.token, c.ok) for c in posts] == [
        ("C1", "T1", BOT_TOKEN, True),
        ("C2", "T2", T2_TOKEN, True),
    ]
    [history] = fake.calls_to("conversations.history")
    assert (history.team, history.token) == ("T2", T2_TOKEN)


async def test_a_workspace_the_app_is_not_installed_in_is_never_posted_to(fake, clients):
    poster = oauth_poster(fake, clients)
    key = post_key("slack", "C3", DAY)

    with pytest.raises(ChannelUnavailable) as posting:
        await poster.post("C3", load_corpus().get(1), key=key, workspace="T3")
    with pytest.raises(ChannelUnavailable) as finding:
        await poster.find_post("C3", key, since=NOW, workspace="T3")

    assert posting.value.reason == finding.value.reason == "app_uninstalled"
    assert posting.value.permanent
    assert fake.calls == []


async def test_the_scheduler_posts_with_each_subscriptions_workspace_token(
    storage: Storage, fake, clients
):
    subs = [
        daily_subscription("C1", "T1"),
        daily_subscription("C2", "T2"),
        daily_subscription("C3", "T3"),
    ]
    for sub in subs:
        await storage.save_subscription(sub)
    scheduler = DailyScheduler(
        storage=storage,
        posters={"slack": oauth_poster(fake, clients)},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: NOW,
    )

    await scheduler.fan_out([(sub, DAY) for sub in subs])

    posts = fake.calls_to("chat.postMessage")
    assert sorted((c.body["channel"], c.team, c.token) for c in posts) == [
        ("C1", "T1", BOT_TOKEN),
        ("C2", "T2", T2_TOKEN),
    ]
    assert len(fake.channel_messages("C1")) == len(fake.channel_messages("C2")) == 1
    records = {r.channel: r for r in await storage.list_posts("slack")}
    assert {channel: r.state for channel, r in records.items()} == {
        "C1": "posted",
        "C2": "posted",
        "C3": "abandoned",  # no retry: the app is not there
    }
    uninstalled = await storage.get_subscription("slack", "C3")
    assert uninstalled is not None
    assert uninstalled.failing == "app_uninstalled"


@pytest.mark.parametrize("oauth", [True, False], ids=["oauth", "one-token"])
async def test_a_revoked_token_stops_that_workspace_for_good_only_under_oauth(fake, clients, oauth):
    fake.uninstall("T2")  # its tokens are revoked; the uninstall event never reached us
    poster = oauth_poster(fake, clients) if oauth else SlackPoster(fake.web_client(T2_TOKEN))

    with pytest.raises(PostError) as failed:
        await poster.post("C2", load_corpus().get(1), key="k", workspace="T2")

    assert failed.value.reason == "token_revoked"
    # Under OAuth the workspace is gone; with one bot token the operator may yet fix it.
    assert isinstance(failed.value, ChannelUnavailable) is oauth
