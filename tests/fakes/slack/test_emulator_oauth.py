"""Self-tests of the emulator's workspaces, OAuth v2, token rotation and history limit.

Driven through the real slack_sdk ``AsyncWebClient`` (its ``oauth_v2_access`` sends the app's
credentials in HTTP Basic auth), ``AsyncTokenRotator`` and bolt's ``AsyncOAuthFlow``, so a
bot wired to the fake's OAuth gets what it would from Slack.  Time is the fake's ``clock``,
moved by hand: no sleeps.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth import AuthorizeUrlGenerator
from slack_sdk.oauth.installation_store import FileInstallationStore, Installation
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.payloads import DEFAULT_TEAM_ID, tokens_revoked_payload
from tests.helpers import Seconds

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-secret"
OTHER_TEAM = "T2"


@pytest.fixture
def clock(fake: FakeSlack) -> Seconds:
    fake.clock = ticking = Seconds()
    return ticking


@pytest.fixture
def other(fake: FakeSlack) -> str:
    """A second workspace, with a channel of its own."""
    fake.add_workspace(OTHER_TEAM, team_name="Other Team", channels=["C2"])
    return OTHER_TEAM


def client(fake: FakeSlack, token: str | None = None) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.url)


async def install(fake: FakeSlack, team_id: str | None, **kwargs: Any) -> dict[str, Any]:
    """Exchange a fresh code for ``team_id`` the way bolt's OAuth flow does."""
    response = await client(fake).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=fake.issue_code(team_id, **kwargs)
    )
    return dict(response.data)  # type: ignore[arg-type]


async def slack_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call
    return str(raised.value.response["error"])


# ------------------------------------------------------------------------------ code exchange


async def test_a_code_is_exchanged_for_a_new_bot_token_of_its_workspace(
    fake: FakeSlack, other: str
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)

    answer = await install(fake, other)

    token = answer.pop("access_token")
    assert token.startswith(f"xoxb-{other}-")
    assert answer == {
        "ok": True,
        "token_type": "bot",
        "scope": fake.scopes,
        "bot_user_id": fake.workspaces[other].bot_user_id,
        "app_id": fake.app_id,
        "team": {"id": other, "name": "Other Team"},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": "U1"},
    }
    [call] = fake.calls_to("oauth.v2.access")
    assert call.headers["Authorization"].startswith("Basic ")  # slack_sdk's way
    assert call.team is None
    assert fake.installs == [other]


async def test_credentials_in_form_fields_work_too(fake: FakeSlack) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    code = fake.issue_code(DEFAULT_TEAM_ID)

    response = await client(fake).api_call(
        "oauth.v2.access",
        data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code},
    )

    assert response["team"]["id"] == DEFAULT_TEAM_ID


async def test_a_code_works_once(fake: FakeSlack) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    code = fake.issue_code()
    web = client(fake)
    await web.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)

    again = web.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)

    assert await slack_error(again) == "invalid_code"


async def test_a_code_expires_after_ten_minutes(fake: FakeSlack, clock: Seconds) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    code = fake.issue_code()
    clock.advance(601)

    late = client(fake).oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)

    assert await slack_error(late) == "invalid_code"


@pytest.mark.parametrize(
    ("client_id", "secret", "code", "error"),
    [
        (CLIENT_ID, "wrong", None, "bad_client_secret"),
        ("9999.0000", CLIENT_SECRET, None, "invalid_client_id"),
        (CLIENT_ID, CLIENT_SECRET, "made-up", "invalid_code"),
    ],
)
async def test_bad_credentials_or_code_are_refused(
    fake: FakeSlack, client_id: str, secret: str, code: str | None, error: str
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    real_code = fake.issue_code()

    refused = client(fake).oauth_v2_access(
        client_id=client_id, client_secret=secret, code=code or real_code
    )

    assert await slack_error(refused) == error


async def test_the_redirect_uri_must_match_the_authorize_one(fake: FakeSlack) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    code = fake.issue_code(redirect_uri="https://bot.example/slack/oauth_redirect")

    without = client(fake).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code
    )

    assert await slack_error(without) == "bad_redirect_uri"


async def test_a_user_scope_adds_the_installers_user_token(fake: FakeSlack) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)

    answer = await install(fake, DEFAULT_TEAM_ID, user_scope="users:read")

    user = answer["authed_user"]
    assert user["token_type"] == "user"
    assert user["scope"] == "users:read"
    me = await client(fake, user["access_token"]).auth_test()
    assert (me["user_id"], me.get("bot_id")) == ("U1", None)


# ------------------------------------------------------------------------------ workspaces


async def test_each_token_answers_as_its_own_workspace(fake: FakeSlack, other: str) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    fake.users["U7"] = {}
    theirs = (await install(fake, other))["access_token"]
    ours, second = client(fake, fake.bot_token), client(fake, theirs)

    me, them = await ours.auth_test(), await second.auth_test()
    posted = await second.chat_postMessage(channel="C2", text="hi")
    person = await second.users_info(user="U7")

    assert (me["team_id"], me["user_id"], me["bot_id"]) == (
        DEFAULT_TEAM_ID,
        fake.bot_user_id,
        fake.bot_id,
    )
    workspace = fake.workspaces[other]
    assert (them["team_id"], them["user_id"], them["bot_id"], them["team"]) == (
        other,
        workspace.bot_user_id,
        workspace.bot_id,
        "Other Team",
    )
    assert (posted["message"]["user"], posted["message"]["team"]) == (workspace.bot_user_id, other)
    assert person["user"]["team_id"] == other
    assert [(c.method, c.team, c.token) for c in fake.calls[1:]] == [
        ("auth.test", DEFAULT_TEAM_ID, fake.bot_token),
        ("auth.test", other, theirs),
        ("chat.postMessage", other, theirs),
        ("users.info", other, theirs),
    ]


async def test_a_workspace_posts_only_in_its_own_channels(fake: FakeSlack) -> None:
    token = "xoxb-ready-made"
    fake.add_workspace(OTHER_TEAM, channels=["C2"], bot_token=token)

    elsewhere = client(fake, token).chat_postMessage(channel="C1", text="hi")

    assert await slack_error(elsewhere) == "not_in_channel"
    [call] = fake.calls_to("chat.postMessage")
    assert (call.token, call.team) == (token, OTHER_TEAM)


async def test_a_token_the_fake_never_issued_is_invalid_auth(fake: FakeSlack) -> None:
    assert await slack_error(client(fake, "xoxb-T1-999").auth_test()) == "invalid_auth"
    [call] = fake.calls_to("auth.test")
    assert (call.token, call.team) == ("xoxb-T1-999", None)


# ------------------------------------------------------------------------------ token rotation


async def test_rotation_gives_expiring_tokens_and_refreshes_them(
    fake: FakeSlack, other: str, clock: Seconds
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True, expires_in=43_200)
    first = await install(fake, other)
    assert first["refresh_token"].startswith("xoxe-1-")
    assert first["expires_in"] == 43_200
    web = client(fake)

    clock.advance(40_000)
    refreshed = await web.oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
    )

    assert refreshed["token_type"] == "bot"
    assert refreshed["expires_in"] == 43_200
    assert refreshed["team"] == {"id": other, "name": "Other Team"}
    assert refreshed["access_token"] not in (first["access_token"], None)
    assert refreshed["refresh_token"] != first["refresh_token"]
    assert fake.refreshes == {other: 1}
    # The old token works until its own 12 hours are up, then is refused.
    assert (await client(fake, first["access_token"]).auth_test())["team_id"] == other
    clock.advance(3_200)
    expired = client(fake, first["access_token"]).auth_test()
    assert await slack_error(expired) == "token_expired"
    assert (await client(fake, refreshed["access_token"]).auth_test())["team_id"] == other
    # A refresh token is spent once used; an unknown one never worked.
    for spent in (first["refresh_token"], "xoxe-1-made-up"):
        again = web.oauth_v2_access(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            grant_type="refresh_token",
            refresh_token=spent,
        )
        assert await slack_error(again) == "invalid_refresh_token"


async def test_a_refresh_token_accepted_from_before_the_test_is_refreshed_once(
    fake: FakeSlack, other: str
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    fake.accept_refresh_token("stored-bot-refresh", team_id=other)
    fake.accept_refresh_token("stored-user-refresh", team_id=other, kind="user")
    web = client(fake)

    async def refresh(token: str) -> Any:
        return await web.oauth_v2_access(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            grant_type="refresh_token",
            refresh_token=token,
        )

    bot = await refresh("stored-bot-refresh")
    user = await refresh("stored-user-refresh")

    assert (bot["token_type"], user["token_type"]) == ("bot", "user")
    assert bot["access_token"] in fake.tokens_for(other)
    assert user["access_token"] in fake.tokens_for(other, "user")
    assert fake.refreshes == {other: 2}
    assert [bot["access_token"], bot["refresh_token"]] == fake.issued[:2]
    assert await slack_error(refresh("stored-bot-refresh")) == "invalid_refresh_token"


def test_accept_refresh_token_needs_to_know_the_app(fake: FakeSlack) -> None:
    with pytest.raises(ValueError, match="client_id"):
        fake.accept_refresh_token("r")
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    fake.oauth_app("3333.4444", "another")
    with pytest.raises(ValueError, match="client_id"):
        fake.accept_refresh_token("r")
    fake.accept_refresh_token("r", client_id="3333.4444")


async def test_expire_token_forces_token_expired(fake: FakeSlack) -> None:
    fake.expire_token(fake.bot_token)

    assert await slack_error(client(fake, fake.bot_token).auth_test()) == "token_expired"


async def test_slack_sdks_token_rotator_refreshes_an_expiring_installation(
    fake: FakeSlack, other: str
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    first = await install(fake, other)
    installation = Installation(
        user_id="U1",
        team_id=other,
        bot_token=first["access_token"],
        bot_refresh_token=first["refresh_token"],
        bot_token_expires_at=int(time.time()) + 60,  # inside the rotator's 2-hour margin
    )
    rotator = AsyncTokenRotator(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, client=client(fake)
    )

    rotated = await rotator.perform_token_rotation(installation=installation)

    assert rotated is not None
    assert rotated.bot_token not in (None, first["access_token"])
    assert (await client(fake, rotated.bot_token).auth_test())["team_id"] == other
    assert fake.refreshes[other] == 1


# ------------------------------------------------------------------------------ uninstall


async def test_uninstall_revokes_the_workspaces_tokens_only(
    fake: FakeSlack, other: str, clock: Seconds
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    theirs = await install(fake, other)

    event = fake.uninstall(other)

    assert event["type"] == "event_callback"
    assert (event["team_id"], event["event"]) == (other, {"type": "app_uninstalled"})
    revoked = client(fake, theirs["access_token"]).auth_test()
    assert await slack_error(revoked) == "token_revoked"
    refresh = client(fake).oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=theirs["refresh_token"],
    )
    assert await slack_error(refresh) == "invalid_refresh_token"
    assert (await client(fake, fake.bot_token).auth_test())["team_id"] == DEFAULT_TEAM_ID
    assert fake.tokens_for(other) == []
    # Installing again gives a working token.
    again = await install(fake, other)
    assert fake.tokens_for(other) == [again["access_token"]]


def test_tokens_revoked_names_the_bot_users() -> None:
    payload = tokens_revoked_payload(OTHER_TEAM, bot_user_ids=["UBOTT2"])

    assert payload["team_id"] == OTHER_TEAM
    assert payload["event"] == {
        "type": "tokens_revoked",
        "tokens": {"oauth": [], "bot": ["UBOTT2"]},
    }


# ------------------------------------------------------------------------------ authorize page


async def visit(url: str) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False) as r:
        await r.read()
        return r


async def test_the_authorize_page_redirects_with_a_code_and_the_state(
    fake: FakeSlack, other: str
) -> None:
    redirect = "https://bot.example/slack/oauth_redirect"
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    fake.next_install_team = other
    url = AuthorizeUrlGenerator(
        client_id=CLIENT_ID,
        scopes=["chat:write", "commands"],
        redirect_uri=redirect,
        authorization_url=fake.authorize_url,
    ).generate(state="st-123")

    page = await visit(url)

    assert page.status == 302
    location = urlsplit(page.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["state"] == "st-123"
    assert fake.next_install_team is None  # one install only
    assert fake.authorize_requests[0]["scope"] == "chat:write,commands"
    answer = await client(fake).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=query["code"], redirect_uri=redirect
    )
    assert (answer["team"]["id"], answer["scope"]) == (other, "chat:write,commands")


async def test_the_authorize_page_honours_team_and_refusal(fake: FakeSlack, other: str) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, redirect_uri="https://bot.example/cb")
    base = f"{fake.authorize_url}?client_id={CLIENT_ID}&scope=commands&state=s"

    unknown = await visit(f"{fake.authorize_url}?client_id=nope&state=s")
    elsewhere = await visit(f"{base}&redirect_uri=https://evil.example/cb")
    fake.next_install_denied = True
    denied = await visit(base)
    chosen = await visit(f"{base}&team={other}")

    assert (unknown.status, elsewhere.status) == (400, 400)
    assert denied.headers["Location"] == "https://bot.example/cb?error=access_denied&state=s"
    code = parse_qs(urlsplit(chosen.headers["Location"]).query)["code"][0]
    answer = await client(fake).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code
    )
    assert answer["team"]["id"] == other


async def test_bolts_oauth_flow_installs_with_the_bot_id(
    fake: FakeSlack, other: str, tmp_path: Path
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    flow = AsyncOAuthFlow(
        client=client(fake),
        settings=AsyncOAuthSettings(
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            scopes=["commands"],
            installation_store=FileInstallationStore(base_dir=str(tmp_path)),
            authorization_url=fake.authorize_url,
        ),
    )

    installation = await flow.run_installation(fake.issue_code(other))

    assert installation is not None
    workspace = fake.workspaces[other]
    assert (installation.team_id, installation.bot_id, installation.bot_user_id) == (
        other,
        workspace.bot_id,
        workspace.bot_user_id,
    )
    assert installation.bot_refresh_token is not None
    assert installation.bot_token_expires_at is not None


# ------------------------------------------------------------------------------ history limit


async def test_the_history_limit_caps_pages_and_answers_429_within_a_minute(
    fake: FakeSlack, clock: Seconds
) -> None:
    fake.add_chatter("C1", 40)
    fake.history_rate_limit(per_minute=1, max_limit=15)
    web = client(fake, fake.bot_token)

    page = await web.conversations_history(channel="C1", limit=100)
    clock.advance(20)
    with pytest.raises(SlackApiError) as raised:
        await web.conversations_history(
            channel="C1", cursor=page["response_metadata"]["next_cursor"]
        )
    clock.advance(40)
    later = await web.conversations_history(
        channel="C1", limit=100, cursor=page["response_metadata"]["next_cursor"]
    )

    assert len(page["messages"]) == 15
    assert (page["has_more"], page["response_metadata"]["next_cursor"]) == (True, "15")
    refused = raised.value.response
    assert (refused.status_code, refused["error"]) == (429, "ratelimited")
    assert refused.headers["Retry-After"] == "40"
    assert [m["text"] for m in later["messages"]] == [f"chat {n}" for n in range(24, 9, -1)]
    assert fake.history_pages == [("C1", 0, 15), ("C1", 15, 15)]


async def test_the_history_limit_counts_per_workspace(fake: FakeSlack, clock: Seconds) -> None:
    fake.add_workspace("T2", channels=["C2"], bot_token="xoxb-t2")
    fake.add_workspace("T3", channels=["C3"], bot_token="xoxb-t3")
    fake.history_rate_limit()

    await client(fake, "xoxb-t2").conversations_history(channel="C2")
    await client(fake, "xoxb-t3").conversations_history(channel="C3")
    fake.history_limit = None
    await client(fake, "xoxb-t2").conversations_history(channel="C2", limit=50)

    assert [c.status for c in fake.calls_to("conversations.history")] == [200, 200, 200]


# ------------------------------------------------------------------------------ Enterprise Grid


@pytest.fixture
def grid(fake: FakeSlack, other: str) -> str:
    """Org E1 over the default workspace (C1) and T2 (C2); T3 (C3) stands alone."""
    fake.add_workspace("T3", channels=["C3"])
    fake.add_enterprise("E1", teams=[DEFAULT_TEAM_ID, other], name="Grid Org")
    return "E1"


async def test_an_org_wide_install_gets_one_token_for_the_org_and_no_team(
    fake: FakeSlack, grid: str
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)

    answer = await install(fake, None, enterprise_id=grid)

    token = answer["access_token"]
    assert token.startswith(f"xoxb-{grid}-")
    assert answer["is_enterprise_install"] is True
    assert answer["team"] is None
    assert answer["enterprise"] == {"id": grid, "name": "Grid Org"}
    assert answer["bot_user_id"] == f"UBOT{grid}"
    assert fake.org_tokens(grid) == [token]
    assert fake.tokens_for(DEFAULT_TEAM_ID) == [fake.bot_token]  # no team token was issued
    identity = await client(fake, token).auth_test()
    assert identity["is_enterprise_install"] is True
    assert identity["enterprise_id"] == grid
    assert identity["bot_id"] == f"BBOT{grid}"
    refreshed = await client(fake).oauth_v2_access(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        grant_type="refresh_token",
        refresh_token=answer["refresh_token"],
    )
    assert refreshed["is_enterprise_install"] is True
    assert refreshed["access_token"] in fake.org_tokens(grid)


async def test_an_org_token_posts_in_each_workspace_of_its_org_and_nowhere_else(
    fake: FakeSlack, grid: str
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    org = client(fake, (await install(fake, None, enterprise_id=grid))["access_token"])

    await org.chat_postMessage(channel="C1", text="one")
    await org.chat_postMessage(channel="C2", text="two")
    assert await slack_error(org.chat_postMessage(channel="C3", text="three")) == ("not_in_channel")

    posted = fake.calls_to("chat.postMessage")
    assert [(c.body["channel"], c.team, c.ok) for c in posted] == [
        ("C1", DEFAULT_TEAM_ID, True),
        ("C2", OTHER_TEAM, True),
        ("C3", DEFAULT_TEAM_ID, False),  # outside the org: its first workspace answers
    ]


async def test_a_team_install_in_an_org_names_the_org(fake: FakeSlack, grid: str) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)

    answer = await install(fake, OTHER_TEAM)

    assert answer["is_enterprise_install"] is False
    assert answer["team"] == {"id": OTHER_TEAM, "name": "Other Team"}
    assert answer["enterprise"] == {"id": grid, "name": "Grid Org"}
    assert answer["access_token"] in fake.tokens_for(OTHER_TEAM)


async def test_uninstalling_the_org_revokes_its_token_and_no_teams(
    fake: FakeSlack, grid: str
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    org_token = (await install(fake, None, enterprise_id=grid))["access_token"]
    team_token = (await install(fake, OTHER_TEAM))["access_token"]

    callback = fake.uninstall_org(grid)

    assert await slack_error(client(fake, org_token).auth_test()) == "token_revoked"
    assert (await client(fake, team_token).auth_test())["team_id"] == OTHER_TEAM
    assert callback["enterprise_id"] == grid
    assert callback["team_id"] is None
    assert callback["event"] == {"type": "app_uninstalled"}
    [authorization] = callback["authorizations"]
    assert authorization["is_enterprise_install"] is True
    assert authorization["enterprise_id"] == grid
    assert authorization["team_id"] is None


async def test_an_org_token_is_refused_in_a_workspace_taken_out_of_the_org_install(
    fake: FakeSlack, grid: str
) -> None:
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET)
    org = client(fake, (await install(fake, None, enterprise_id=grid))["access_token"])

    fake.revoke_team_access(grid, OTHER_TEAM)

    assert await slack_error(org.chat_postMessage(channel="C2", text="x")) == (
        "team_access_not_granted"
    )
    assert (await org.chat_postMessage(channel="C1", text="y"))["ok"]
