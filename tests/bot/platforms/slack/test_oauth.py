"""Slack for many workspaces: installs through the real OAuth pages, then each workspace apart.

The bot runs its real HTTP server (Bolt's OAuth flow at /slack/install and
/slack/oauth_redirect, the bot's own stores on SQLite) against the emulator, which issues a
token per workspace and accepts only tokens it issued. A browser is an aiohttp session with a
cookie jar: the state cookie set by the install page must come back to the redirect.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
import re
import socket
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import aiohttp
import pytest
import sqlalchemy as sa
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.log import NOISY, setup_logging
from bot.platforms.slack.installs import BOT_SCOPES, SlackInstalls, authorization_url
from bot.platforms.slack.lifecycle import SlackPlatform
from bot.storage import Storage
from bot.storage.slack.tables import slack_bots, slack_oauth_states
from maxims import load_corpus
from tests.bot.platforms.slack.helpers import (
    SECRET,
    daily_subscription,
    make_service,
    post,
    send,
    settings_for,
)
from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.payloads import (
    SlackRequestBody,
    event_body,
    message_event,
    tokens_revoked_payload,
)

CLIENT_ID = "1111.2222"
CLIENT_SECRET = "oauth-client-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def bot(fake: FakeSlack, storage: Storage, started) -> SlackPlatform:
    """The bot in OAuth mode (no bot token at all), with workspace T2 waiting to install it."""
    fake.oauth_app(CLIENT_ID, CLIENT_SECRET, token_rotation=True)
    fake.add_workspace("T2", channels=["C2"])
    return await started(oauth_bot(fake, storage))


@pytest.fixture
async def replica_storage(sqlite_url: str) -> AsyncIterator[Storage]:
    """A second process's storage: its own engine on the bot's database."""
    store = await Storage.open(sqlite_url)
    yield store
    await store.close()


def oauth_bot(fake: FakeSlack, storage: Storage) -> SlackPlatform:
    """A bot process in OAuth mode, on its own port, over `storage`."""
    port = free_port()
    settings = settings_for(
        fake,
        secrets={
            "slack_signing_secret": SECRET,
            "slack_client_id": CLIENT_ID,
            "slack_client_secret": CLIENT_SECRET,
        },
        http_port=port,
        redirect_uri=f"http://127.0.0.1:{port}/slack/oauth_redirect",
    )
    installs = SlackInstalls(
        storage.engine, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, api_url=fake.url
    )
    return SlackPlatform(make_service(storage), settings.slack, settings.secrets, installs=installs)


async def authorize(
    bot: SlackPlatform, fake: FakeSlack, team: str | None
) -> tuple[str, dict[str, str]]:
    """A person opens the install link, is sent on to Slack and clicks "Allow" for `team`.

    Returns the redirect back to the bot (with its code and state) and the cookie headers the
    browser would send with it. The browser follows the bot's redirect as any browser does;
    the state cookie is carried by hand: Bolt marks it ``Secure``, which browsers send to
    ``http://127.0.0.1`` (a secure context) but aiohttp's cookie jar does not.
    """
    async with aiohttp.ClientSession() as browser:
        install_link = f"http://127.0.0.1:{bot.port}/slack/install"
        async with browser.get(install_link, allow_redirects=False) as bot_page:
            assert bot_page.status == 302
            to_slack = bot_page.headers["Location"]
            cookies = {name: morsel.value for name, morsel in bot_page.cookies.items()}
        assert to_slack.startswith(authorization_url(fake.url) + "?")
        assert list(cookies) == ["slack-app-oauth-state"]
        fake.next_install_team = team
        async with browser.get(to_slack, allow_redirects=False) as slack:
            assert slack.status == 302
            back = slack.headers["Location"]
    return back, {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}


async def come_back(url: str, headers: dict[str, str]) -> int:
    """The browser follows Slack's redirect to the bot: the status of the page it ends on."""
    async with aiohttp.ClientSession() as browser, browser.get(url, headers=headers) as done:
        return done.status


async def install(
    bot: SlackPlatform, fake: FakeSlack, team: str | None, *, cookie: bool = True
) -> int:
    """A person adds the app to `team` in a browser; the status of the page they end on."""
    back, cookies = await authorize(bot, fake, team)
    return await come_back(back, cookies if cookie else {})


async def say(bot: SlackPlatform, team: str, channel: str, text: str, event_id: str) -> None:
    """A person writes `text` in `channel` of workspace `team`; the bot's work then settles."""
    built = event_body(message_event(text, channel_id=channel), event_id, team_id=team)
    assert bot.port is not None
    status, _ = await post(bot.port, built)
    assert status == 200
    await bot.background.drain(timeout=5)


def test_the_bot_asks_for_the_scopes_of_the_manifest():
    from tests.bot.platforms.slack.test_render import listed_under

    assert sorted(BOT_SCOPES) == sorted(listed_under("bot"))


def test_the_authorize_page_sits_beside_the_api_url():
    assert authorization_url("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"
    assert authorization_url("https://slack-gov.com/api/") == (
        "https://slack-gov.com/oauth/v2/authorize"
    )


async def test_two_workspaces_install_and_each_is_answered_with_its_own_token(bot, fake):
    assert await install(bot, fake, "T1") == 200
    assert await install(bot, fake, "T2") == 200
    assert fake.installs == ["T1", "T2"]

    await say(bot, "T1", "C1", "loss is NaN", "Ev1")
    await say(bot, "T2", "C2", "loss is NaN", "Ev2")

    answers = fake.calls_to("chat.postMessage")
    assert [(a.body["channel"], a.team) for a in answers] == [("C1", "T1"), ("C2", "T2")]
    assert answers[0].token in fake.tokens_for("T1")
    assert answers[1].token in fake.tokens_for("T2")
    assert fake.bot_token not in {a.token for a in answers}  # only tokens issued by OAuth


async def test_daily_posts_go_out_with_each_workspaces_token_and_stop_at_uninstall(
    bot, fake, storage
):
    await install(bot, fake, "T1")
    await install(bot, fake, "T2")
    subs = [daily_subscription("C1", "T1"), daily_subscription("C2", "T2")]
    for sub in subs:
        await storage.save_subscription(sub)
    scheduler = DailyScheduler(
        storage=storage,
        posters={"slack": bot.poster},
        corpus=load_corpus(),
        config=ScheduleConfig(),
        clock=lambda: dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC),
    )

    assert [await scheduler.deliver(sub, dt.date(2026, 12, 1)) for sub in subs] == [True, True]
    posts = fake.calls_to("chat.postMessage")
    assert [(p.body["channel"], p.team) for p in posts] == [("C1", "T1"), ("C2", "T2")]

    uninstalled = fake.uninstall("T2")
    assert bot.port is not None
    await post(bot.port, SlackRequestBody(json.dumps(uninstalled), "application/json"))
    await bot.background.drain(timeout=5)
    fake.clear()
    due = [s for s in await storage.list_subscriptions("slack")]
    for sub in due:
        await scheduler.deliver(sub, dt.date(2026, 12, 2))

    assert [(p.body["channel"], p.team) for p in fake.calls_to("chat.postMessage")] == [
        ("C1", "T1")
    ]


async def test_the_state_cookie_must_come_back(bot, fake):
    assert await install(bot, fake, "T2", cookie=False) != 200
    assert fake.installs == []  # no code was exchanged

    await say(bot, "T2", "C2", "loss is NaN", "Ev1")

    assert fake.calls_to("chat.postMessage") == []


async def count_rows(storage: Storage, table: sa.Table) -> int:
    async with storage.engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_visits_to_the_install_page_write_nothing(bot, storage):
    async with aiohttp.ClientSession() as browser:
        for _ in range(20):
            for visit in (browser.get, browser.head):
                link = f"http://127.0.0.1:{bot.port}/slack/install"
                async with visit(link, allow_redirects=False) as page:
                    assert page.status == 302
                    assert "slack-app-oauth-state" in page.cookies

    assert await count_rows(storage, slack_oauth_states) == 0


async def test_a_state_comes_back_once(bot, fake, storage):
    back, cookies = await authorize(bot, fake, "T2")
    assert await come_back(back, cookies) == 200
    assert await come_back(back, cookies) == 401  # the same redirect again: state used

    assert fake.installs == ["T2"]
    assert await count_rows(storage, slack_oauth_states) == 1


async def test_a_workspace_that_never_installed_gets_no_answer_and_no_error(bot, fake, caplog):
    await say(bot, "T2", "C2", "loss is NaN", "Ev1")

    assert fake.calls_to("chat.postMessage") == []
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_an_uninstalled_workspace_is_forgotten_with_its_daily_posts(bot, fake, storage):
    await install(bot, fake, "T1")
    await install(bot, fake, "T2")
    for channel, team in (("C1", "T1"), ("C2", "T2")):
        assert bot.port is not None
        await bot.service.storage.save_subscription(daily_subscription(channel, team))

    uninstalled = fake.uninstall("T2")
    status, _ = await post(bot.port, SlackRequestBody(json.dumps(uninstalled), "application/json"))
    assert status == 200
    await bot.background.drain(timeout=5)
    await say(bot, "T2", "C2", "loss is NaN", "Ev3")
    await say(bot, "T1", "C1", "loss is NaN", "Ev4")

    assert [(a.body["channel"], a.team) for a in fake.calls_to("chat.postMessage")] == [
        ("C1", "T1")
    ]
    assert [s.channel for s in await storage.list_subscriptions("slack")] == ["C1"]
    assert await bot.installs.client_for("T2") is None


async def test_a_revoked_bot_token_forgets_the_workspace_and_user_tokens_do_not(bot, fake):
    await install(bot, fake, "T1")
    await install(bot, fake, "T2")
    assert bot.port is not None

    users_only = tokens_revoked_payload("T1", bot_user_ids=(), user_ids=("U1",))
    bots = tokens_revoked_payload("T2", bot_user_ids=("UBOTT2",), event_id="EvRevoked2")
    for payload in (users_only, bots):
        status, _ = await post(bot.port, SlackRequestBody(json.dumps(payload), "application/json"))
        assert status == 200
    await bot.background.drain(timeout=5)

    assert await bot.installs.client_for("T1") is not None
    assert await bot.installs.client_for("T2") is None


async def test_a_token_near_expiry_is_refreshed_once_before_use(bot, fake, storage):
    await install(bot, fake, "T2")
    [issued] = fake.tokens_for("T2")
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    async with storage.engine.begin() as conn:
        await conn.execute(sa.update(slack_bots).values(bot_token_expires_at=soon))
    fake.expire_token(issued)  # used again, it would be refused

    await say(bot, "T2", "C2", "loss is NaN", "Ev1")
    await say(bot, "T2", "C2", "NaN again", "Ev2")

    assert fake.refreshes["T2"] == 1
    answers = fake.calls_to("chat.postMessage")
    assert [a.ok for a in answers] == [True, True]
    assert issued not in {a.token for a in answers}


def test_the_oauth_manifest_is_the_single_workspace_one_plus_what_sharing_needs():
    root = Path(__file__).resolve().parents[4] / "slack"
    single = (root / "manifest.yaml").read_text(encoding="utf-8")
    shared = (root / "manifest.oauth.yaml").read_text(encoding="utf-8")

    def body(text: str) -> list[str]:
        lines = text[text.index("display_information:") :].splitlines()
        return [line.split("#")[0].rstrip() for line in lines if line.split("#")[0].strip()]

    added = [line for line in body(shared) if line not in body(single)]
    assert added == [
        "      url: https://bot.example.com/slack/events",
        "  redirect_urls:",
        "    - https://bot.example.com/slack/oauth_redirect",
        "    request_url: https://bot.example.com/slack/events",
        "      - app_uninstalled",
        "      - tokens_revoked",
        "      - team_access_revoked",
        "    request_url: https://bot.example.com/slack/events",
        "  org_deploy_enabled: true",
        "  socket_mode_enabled: false",
        "  token_rotation_enabled: true",
    ]
    for scope in BOT_SCOPES:
        assert f"      - {scope} " in shared


# -- the install link, the pages, their headers ---------------------------------------------


async def get(url: str, **headers: str) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    """A browser's GET of `url`, stopping at the first answer (a redirect is not followed)."""
    async with (
        aiohttp.ClientSession() as browser,
        browser.get(url, headers=headers, allow_redirects=False) as page,
    ):
        return page.status, await page.text(), page.headers


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


@pytest.mark.parametrize("team", [None, "T2"])
async def test_the_install_link_redirects_at_once_to_slack_with_the_state_cookie(bot, fake, team):
    link = f"http://127.0.0.1:{bot.port}/slack/install" + (f"?team={team}" if team else "")

    status, body, headers = await get(link)

    assert status == 302
    assert body == ""  # nothing rendered, nothing of the request echoed
    location = headers["Location"]
    assert location.startswith(authorization_url(fake.url) + "?")
    query = query_of(location)
    expected = {"client_id", "redirect_uri", "scope", "state", "user_scope"} | (
        {"team"} if team else set()
    )
    assert set(query) == expected
    assert all(len(values) == 1 for values in query.values())
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == [",".join(BOT_SCOPES)]
    assert query["redirect_uri"] == [f"http://127.0.0.1:{bot.port}/slack/oauth_redirect"]
    assert query.get("team") == ([team] if team else None)
    [cookie] = headers.getall("Set-Cookie")
    assert cookie.startswith(f"slack-app-oauth-state={query['state'][0]};")  # the same state


async def test_the_team_of_an_install_link_goes_to_slack_encoded_and_alone(bot, fake):
    status, _, headers = await get(f"http://127.0.0.1:{bot.port}/slack/install?team=T2")
    assert status == 302
    link = headers["Location"]
    query = query_of(link)
    assert "redirect_uri=http%3A%2F%2F127.0.0.1" in link  # Bolt's redirect used our URL builder

    assert sorted(query) == ["client_id", "redirect_uri", "scope", "state", "team", "user_scope"]
    assert all(len(values) == 1 for values in query.values())
    assert query["team"] == ["T2"]
    assert query["scope"] == [",".join(BOT_SCOPES)]
    assert query["redirect_uri"] == [f"http://127.0.0.1:{bot.port}/slack/oauth_redirect"]


@pytest.mark.parametrize(
    "team",
    [
        "T1&scope=admin",
        "T1&user_scope=admin&redirect_uri=https://evil.example/",
        "T1&client_id=9999.9999",
        "T1#",
        "t1",
        "T 1",
        "",
        "U123",
        "T" * 40,
        "T1\nSet-Cookie: x=1",
    ],
)
async def test_an_install_link_whose_team_is_no_slack_id_is_refused(bot, fake, team):
    url = f"http://127.0.0.1:{bot.port}/slack/install?{urlencode({'team': team})}"
    status, page, headers = await get(url)

    assert status == 400
    assert "names no Slack workspace" in page
    assert "authorize" not in page
    assert "Location" not in headers
    assert "Set-Cookie" not in headers
    assert "admin" not in page
    assert "default-src 'none'" in headers["Content-Security-Policy"]


async def test_two_teams_in_one_link_are_refused(bot):
    status, _, _ = await get(f"http://127.0.0.1:{bot.port}/slack/install?team=T1&team=T2")
    assert status == 400


def policy(headers) -> dict[str, list[str]]:
    directives = [d.split() for d in headers["Content-Security-Policy"].split(";")]
    return {name: values for name, *values in directives}


def style_hashes(page: str) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
        for style in re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    ]


def check_page_headers(page: str, headers) -> None:
    """No script, no image, no framing, no referrer, no cache: only the page's own style."""
    rules = policy(headers)
    assert rules["default-src"] == ["'none'"]
    assert "script-src" not in rules
    assert rules["style-src"] == (style_hashes(page) or ["'none'"])
    assert "img-src" not in rules  # default-src 'none': the redirect left no button image
    assert rules["frame-ancestors"] == ["'none'"]
    assert rules["base-uri"] == ["'none'"]
    assert rules["form-action"] == ["'none'"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    assert headers["X-Content-Type-Options"] == "nosniff"


def cookie_attributes(headers) -> set[str]:
    [cookie] = headers.getall("Set-Cookie")
    assert cookie.startswith("slack-app-oauth-state=")
    return {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}


async def test_the_oauth_pages_allow_no_script_and_the_state_cookie_is_lax(bot, fake):
    status, page, headers = await get(f"http://127.0.0.1:{bot.port}/slack/install")
    assert status == 302
    assert policy(headers)["style-src"] == ["'none'"]  # the redirect has no page at all
    check_page_headers(page, headers)
    assert {"secure", "httponly", "samesite", "path", "max-age"} <= cookie_attributes(headers)
    assert "SameSite=Lax" in headers["Set-Cookie"]

    back, cookies = await authorize(bot, fake, "T2")
    for sent in (cookies, {}):  # the success page, then a failure (no cookie)
        status, page, headers = await get(back, **sent)
        assert status == (200 if sent else 400)
        check_page_headers(page, headers)
        assert {"secure", "httponly", "samesite"} <= cookie_attributes(headers)
        assert "SameSite=Lax" in headers["Set-Cookie"]


# -- replays ------------------------------------------------------------------------------


async def test_an_uninstall_replayed_to_another_process_leaves_the_reinstall(
    replica_storage, bot, fake, started
):
    replica = await started(oauth_bot(fake, replica_storage))
    assert bot.port is not None
    assert replica.port is not None
    assert await install(bot, fake, "T2") == 200
    delivery = SlackRequestBody(json.dumps(fake.uninstall("T2")), "application/json")
    signed = delivery.headers(SECRET)  # what someone on the path captured
    status, _, _ = await send(bot.port, delivery.body.encode(), signed)
    assert status == 200
    assert await bot.installs.client_for("T2") is None
    assert await install(bot, fake, "T2") == 200  # the workspace comes back at once

    status, _, _ = await send(replica.port, delivery.body.encode(), signed)

    assert status == 200  # acknowledged, as Slack's own retry must be, and not acted on
    assert await replica.installs.client_for("T2") is not None
    await say(replica, "T2", "C2", "loss is NaN", "Ev1")
    assert [a.ok for a in fake.calls_to("chat.postMessage")] == [True]


async def test_a_tokens_revoked_replayed_to_another_process_changes_nothing(
    replica_storage, bot, fake, started
):
    replica = await started(oauth_bot(fake, replica_storage))
    assert bot.port is not None
    assert replica.port is not None
    await install(bot, fake, "T2")
    payload = tokens_revoked_payload("T2", bot_user_ids=("UBOTT2",), event_id="EvRevoked")
    delivery = SlackRequestBody(json.dumps(payload), "application/json")
    signed = delivery.headers(SECRET)
    await send(bot.port, delivery.body.encode(), signed)
    await install(bot, fake, "T2")

    status, _, _ = await send(replica.port, delivery.body.encode(), signed)

    assert status == 200
    assert await replica.installs.client_for("T2") is not None


async def test_every_parameter_of_the_authorize_url_is_encoded(storage):
    redirect = "https://bot.example.com/slack/oauth_redirect?tenant=a&scope=admin"
    installs = SlackInstalls(
        storage.engine,
        client_id="1111.2222&user_scope=admin",
        client_secret=CLIENT_SECRET,
        api_url="https://slack.com/api/",
    )
    flow = installs.oauth_flow(redirect)
    request = AsyncBoltRequest(body="", query="team=T2", headers={})

    url = await flow.build_authorize_url("a-state", request)

    assert url.startswith("https://slack.com/oauth/v2/authorize?")
    assert parse_qs(urlsplit(url).query) == {
        "state": ["a-state"],
        "client_id": ["1111.2222&user_scope=admin"],
        "scope": [",".join(BOT_SCOPES)],
        "redirect_uri": [redirect],
        "team": ["T2"],
    }


# -- the log --------------------------------------------------------------------------------


ENV_SECRETS = [SECRET, CLIENT_ID, CLIENT_SECRET]  # what `maxim-bot` hands setup_logging


@pytest.fixture
def logging_as_the_bot_does(capsys, bot):
    """Calls `setup_logging` like `maxim-bot` (to stderr, for capsys), and undoes it after.

    It needs `bot` so that it is undone first: the bot's storage logs as it closes.
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in NOISY}
    hooks = (sys.excepthook, threading.excepthook)

    def setup(level: str, log_format: str) -> None:
        setup_logging(level, ENV_SECRETS, log_format)

    yield setup
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, noisy_level in levels.items():
        logging.getLogger(name).setLevel(noisy_level)
    sys.excepthook, threading.excepthook = hooks


async def test_at_debug_no_code_or_token_from_oauth_reaches_the_log(
    logging_as_the_bot_does, capsys, bot, fake, storage
):
    logging_as_the_bot_does("DEBUG", "text")
    assert await install(bot, fake, "T1") == 200
    assert await install(bot, fake, "T2") == 200
    async with storage.engine.begin() as conn:  # T2's token is near expiry: it is refreshed
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        await conn.execute(
            sa.update(slack_bots)
            .where(slack_bots.c.team_id == "T2")
            .values(bot_token_expires_at=soon)
        )
    await say(bot, "T1", "C1", "loss is NaN", "Ev1")
    await say(bot, "T2", "C2", "loss is NaN", "Ev2")
    assert bot.port is not None
    await post(bot.port, SlackRequestBody(json.dumps(fake.uninstall("T1")), "application/json"))
    await bot.background.drain(timeout=5)

    log = capsys.readouterr().err
    assert fake.refreshes["T2"] == 1
    assert "oauth.v2.access" in log  # slack_sdk's requests and answers are in it
    assert "refresh_token" in log
    issued = [*fake.issued, CLIENT_SECRET]
    assert len(issued) >= 8  # two codes, two bot tokens, their refresh tokens, a refresh's
    assert [value for value in issued if value in log] == []


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_newline_in_an_oauth_code_cannot_forge_a_log_line(
    logging_as_the_bot_does, capsys, bot, fake, log_format
):
    logging_as_the_bot_does("INFO", log_format)
    back, cookies = await authorize(bot, fake, "T2")
    forged = "2026-12-01 09:00:00,000 CRITICAL bot: forged"
    parts = urlsplit(back)
    query = dict(parse_qsl(parts.query)) | {"code": f"x\n{forged}\r{forged}\u2028{forged}"}
    tampered = parts._replace(query=urlencode(query)).geturl()

    assert await come_back(tampered, cookies) == 401

    lines = capsys.readouterr().err.splitlines()
    assert any("forged" in line for line in lines)  # Bolt's warning quotes the code
    assert not [line for line in lines if "forged" in line.split("***", 1)[0]]
    if log_format == "json":
        assert all(json.loads(line) for line in lines)
    else:
        assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ", ln) for ln in lines), (
            lines
        )
