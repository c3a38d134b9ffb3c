"""`maxim-bot check-config --connect` and `maxim-bot migrate`, as real processes.

`--connect` runs against the loopback emulators: exit 0 when every part works, 1 with one
line naming the part that does not, 2 (as before) when the file itself is invalid.
"""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tests.bot.bot_process import BOT_COMMAND, clean_env, starts_bot_process, write_config
from tests.bot.platforms.slack.helpers import APP_TOKEN, BOT_TOKEN, SECRET

pytestmark = starts_bot_process


async def maxim_bot(tmp_path, *args: str, **env: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *BOT_COMMAND,
        *args,
        cwd=tmp_path,
        env=clean_env(**env),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 90)
    return int(process.returncode or 0), out.decode(), err.decode()


async def test_connect_checks_storage_slack_socket_mode_and_discord(slack, discord_api, tmp_path):
    write_config(tmp_path, '[slack]\nmode = "socket"\n')
    code, out, err = await maxim_bot(
        tmp_path,
        "check-config",
        "--connect",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.url,
        DISCORD_TOKEN=discord_api.token,
        DISCORD_API_BASE=discord_api.api_base,
        DISCORD_GATEWAY_URL=discord_api.gateway_url,
    )
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[-3] == "storage: ok (sqlite answers)"
    assert lines[-2].startswith("slack: ok (signed in as ")
    assert lines[-2].endswith("Socket Mode URL granted)")
    assert lines[-1].startswith("discord: ok (signed in as maxim-bot")
    assert len(slack.calls_to("auth.test", ok=True)) == 1
    assert len(slack.calls_to("apps.connections.open", ok=True)) == 1
    assert not discord_api.gateway_connections  # REST only


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"SLACK_BOT_TOKEN": "xoxb-revoked", "SLACK_APP_TOKEN": APP_TOKEN},
            "slack: FAILED: SLACK_BOT_TOKEN was rejected (invalid_auth)",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xapp-revoked"},
            "slack: FAILED: SLACK_APP_TOKEN was rejected (invalid_auth)",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SECRET},
            None,  # HTTP mode: the bot token is all Slack can check
        ),
    ],
    ids=["bad-bot-token", "bad-app-token", "http-mode"],
)
async def test_connect_names_the_slack_token_slack_refused(slack, tmp_path, env, expected):
    write_config(tmp_path)
    code, out, err = await maxim_bot(
        tmp_path, "check-config", "--connect", SLACK_API_URL=slack.url, **env
    )
    if expected is None:
        assert code == 0, out + err
        assert out.splitlines()[-1].endswith("HTTP mode)")
    else:
        assert code == 1, out + err
        assert out.splitlines()[-1].startswith(expected)
        assert out.splitlines()[-2] == "storage: ok (sqlite answers)"


@pytest.mark.parametrize(
    ("secret", "code", "last"),
    [
        ("oauth-secret", 0, "slack: ok (OAuth client id and secret accepted; HTTP mode"),
        ("wrong", 1, "slack: FAILED: SLACK_CLIENT_ID / SLACK_CLIENT_SECRET were refused"),
    ],
    ids=["accepted", "refused"],
)
async def test_connect_checks_oauth_credentials(slack, tmp_path, secret, code, last):
    slack.oauth_app("1111.2222", "oauth-secret")
    write_config(tmp_path)
    status, out, err = await maxim_bot(
        tmp_path,
        "check-config",
        "--connect",
        SLACK_API_URL=slack.url,
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET=secret,
        SLACK_SIGNING_SECRET=SECRET,
    )
    assert status == code, out + err
    assert out.splitlines()[-1].startswith(last)
    assert "oauth-secret" not in out + err and "wrong" not in out + err


async def test_connect_names_a_refused_discord_token(discord_api, tmp_path):
    write_config(tmp_path)
    code, out, _ = await maxim_bot(
        tmp_path,
        "check-config",
        "--connect",
        DISCORD_TOKEN="not-the-token",
        DISCORD_API_BASE=discord_api.api_base,
        DISCORD_GATEWAY_URL=discord_api.gateway_url,
    )
    assert code == 1
    assert out.splitlines()[-1].startswith("discord: FAILED: DISCORD_TOKEN was rejected")


async def test_connect_names_an_unreachable_database(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[storage]\nurl = "postgresql+asyncpg://maxim:hunter2-pw@127.0.0.1:9/maxim"\n'
    )
    code, out, err = await maxim_bot(tmp_path, "check-config", "--connect")
    assert code == 1, out + err
    assert out.splitlines()[-1].startswith(
        "storage: FAILED: cannot reach postgresql+asyncpg://maxim:***@127.0.0.1:9/maxim"
    )
    assert "hunter2" not in out + err


async def test_an_invalid_config_still_exits_2_before_connecting(tmp_path):
    (tmp_path / "config.toml").write_text("[server]\nport = 70000\n")
    code, out, err = await maxim_bot(tmp_path, "check-config", "--connect")
    assert code == 2
    assert "server.port" in err
    assert out == ""


async def test_two_migrations_at_once_both_succeed(tmp_path):
    write_config(tmp_path)
    results = await asyncio.gather(maxim_bot(tmp_path, "migrate"), maxim_bot(tmp_path, "migrate"))
    assert [code for code, _, _ in results] == [0, 0], results
    assert all(out == "storage: schema up to date (sqlite+aiosqlite)\n" for _, out, _ in results)
    with sqlite3.connect(tmp_path / "bot.db") as db:
        [(revision,)] = db.execute("SELECT version_num FROM maxim_schema_version").fetchall()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert revision and "subscriptions" in tables


async def test_a_failed_migration_exits_1(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[storage]\nurl = "postgresql+asyncpg://maxim@127.0.0.1:9/maxim"\n'
    )
    code, out, err = await maxim_bot(tmp_path, "migrate")
    assert code == 1
    assert "migrating the database failed" in err
    assert out == ""


@pytest.mark.parametrize(
    ("key", "code", "line"),
    [
        (None, 2, "storage: FAILED: MAXIM_STORAGE_KEY: storage holds encrypted Slack tokens"),
        ("wrong", 2, "storage: FAILED: MAXIM_STORAGE_KEY: none of its keys decrypts"),
        ("right", 0, "storage: ok (sqlite answers; Slack token values: 2 encrypted, 0 plain)"),
    ],
    ids=["no key", "wrong key", "right key"],
)
async def test_connect_reads_every_stored_token_with_the_storage_key(
    slack, tmp_path, key, code, line
):
    from cryptography.fernet import Fernet
    from slack_sdk.oauth.installation_store.models.bot import Bot

    from bot.storage import SqlInstallationStore, Storage
    from bot.storage.token_cipher import TokenCipher

    right, wrong = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    write_config(tmp_path)
    async with await Storage.open(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}") as storage:
        store = SqlInstallationStore(
            storage.engine, client_id="1111.2222", cipher=TokenCipher([right])
        )
        await store.async_save_bot(
            Bot(
                app_id="A1",
                team_id="T1",
                bot_token="xoxb-stored",
                bot_refresh_token="xoxe-stored",
                bot_id="B1",
                bot_user_id="UB1",
                installed_at=1.0,
            )
        )
    slack.oauth_app("1111.2222", "oauth-secret")
    env = {"MAXIM_STORAGE_KEY": {"right": right, "wrong": wrong}[key]} if key else {}
    status, out, err = await maxim_bot(
        tmp_path,
        "check-config",
        "--connect",
        SLACK_API_URL=slack.url,
        SLACK_CLIENT_ID="1111.2222",
        SLACK_CLIENT_SECRET="oauth-secret",
        SLACK_SIGNING_SECRET=SECRET,
        **env,
    )
    assert status == code, out + err
    [checked] = [x for x in out.splitlines() if x.startswith(("storage: ok", "storage: FAILED"))]
    assert checked.startswith(line)
    assert right not in out + err
    assert wrong not in out + err
