"""Configuration that parses but cannot work, and the secrets around it, through real processes.

`maxim-bot run` and `maxim-bot check-config` must refuse the same things, with exit status 2 and
one line that names the key, never a traceback; a secret (a token, the database password) never
reaches stderr, even from an exception that escapes everything.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bot.bot_process import starts_bot_process

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "xoxb-do-not-print-me-123456"


def maxim_bot(tmp_path: Path, config: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "config.toml").write_text(config)
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "MAXIM_BOT_"))
    }
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT), environ.get("PYTHONPATH", "")])
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args, "-c", str(tmp_path / "config.toml")],
        cwd=tmp_path,
        env=environ,
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )


UNKNOWN_TAG = """
[[triggers.rules]]
name = "oom"
pattern = "out of memory"
tags = ["compute", "no-such-tag"]
"""
SAME_CHANNEL_TWICE = """
[[daily]]
platform = "console"
channel = "general"
time = "09:00"

[[daily]]
platform = "console"
channel = "general"
time = "17:00"
"""
BACKREFERENCE = """
[[triggers.rules]]
name = "echo"
pattern = "(nan) \\\\1"
tags = ["nan"]
"""
PLAIN_HTTP_API = """
[slack]
api_url = "http://slack.example.com/api/"
"""


NOWHERE = "http://127.0.0.1:9/api/"  # nothing listens there: no test reaches a real Slack
SOCKET_MODE = '[slack]\nmode = "socket"\n'
CONSOLE_OFF = "[console]\nenabled = false\n"
PORT_CLASH = """
[server]
enabled = true
port = 39517

[slack]
http_port = 39517
"""
PORT_OUT_OF_RANGE = '[storage]\nurl = "postgresql+asyncpg://maxim:pw@127.0.0.1:99999/maxim"\n'
PORT_NOT_A_NUMBER = '[storage]\nurl = "postgresql+asyncpg://maxim:pw@127.0.0.1:abc/maxim"\n'
BROKEN = [  # (config, environment, the one line's text)
    (
        "",
        {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": NOWHERE},
        "SLACK_SIGNING_SECRET: Slack HTTP mode needs it",
    ),
    (
        SOCKET_MODE,
        {"SLACK_BOT_TOKEN": TOKEN, "SLACK_API_URL": NOWHERE},
        "SLACK_APP_TOKEN: Slack Socket Mode needs it",
    ),
    (
        "",
        {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": TOKEN, "SLACK_API_URL": NOWHERE},
        "SLACK_SIGNING_SECRET: Slack OAuth runs in HTTP mode, which needs it",
    ),
    ("", {"DISCORD_TOKEN": "   "}, "DISCORD_TOKEN: it is blank"),
    (CONSOLE_OFF, {}, "console.enabled: the console is off and no platform has a token"),
    (
        PORT_CLASH,
        {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": NOWHERE},
        "server.port: 39517 is slack.http_port too",
    ),
    (PORT_OUT_OF_RANGE, {}, "storage.url: port 99999 is out of range"),
    (PORT_NOT_A_NUMBER, {}, "storage.url: its port is not a number"),
    ("[web]\nenabled = true\n", {}, "web.public_url: the pages need the https address"),
    (
        '[web]\nenabled = true\nport = 39518\npublic_url = "https://maxims.example.org"\n'
        "[server]\nenabled = true\nport = 39518\n",
        {},
        "web.port: 39518 is server.port too",
    ),
]


@pytest.mark.parametrize("command", ["run", "check-config"])
@pytest.mark.parametrize(
    ("config", "env", "line"),
    BROKEN,
    ids=[
        "http-mode-without-signing-secret",
        "socket-mode-without-app-token",
        "oauth-without-signing-secret",
        "blank-discord-token",
        "no-platform",
        "probe-server-on-slacks-port",
        "database-port-out-of-range",
        "database-port-not-a-number",
        "pages-without-public-url",
        "pages-on-the-probe-port",
    ],
)
def test_run_and_check_config_refuse_the_same_start_up_problems(
    tmp_path, command, config, env, line
):
    done = maxim_bot(tmp_path, config, command, **env)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert line in lines[0]
    assert TOKEN not in done.stderr
    assert "pw@" not in done.stderr


def test_migrate_needs_no_platform(tmp_path):
    done = maxim_bot(tmp_path, CONSOLE_OFF, "migrate")
    assert done.returncode == 0, done.stderr
    assert "schema up to date" in done.stdout


@pytest.mark.parametrize("command", ["run", "check-config"])
@pytest.mark.parametrize(
    ("config", "line"),
    [
        (UNKNOWN_TAG, "triggers.rules[0].tags: no maxim is tagged 'no-such-tag'"),
        (SAME_CHANNEL_TWICE, "daily[1].channel: 'general' on console already has a daily post"),
        (PLAIN_HTTP_API, "slack.api_url: 'http://slack.example.com/api/' must start with https"),
        (
            BACKREFERENCE,
            "triggers.rules[0].pattern: '(nan) \\\\1' is not a pattern the bot can run",
        ),
    ],
    ids=["unknown-tag", "same-channel-twice", "plain-http-api-url", "backreference"],
)
@starts_bot_process
def test_config_that_cannot_work_is_one_line_and_exit_2(tmp_path, command, config, line):
    done = maxim_bot(tmp_path, config, command)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert line in lines[0]
    assert "Traceback" not in done.stderr


@starts_bot_process
def test_loopback_urls_may_be_plain_http(tmp_path):
    config = (
        '[slack]\napi_url = "http://127.0.0.1:9/api/"\n[discord]\napi_base = "http://localhost:9"\n'
    )
    done = maxim_bot(tmp_path, config, "check-config")
    assert done.returncode == 0, done.stderr


@starts_bot_process
def test_the_database_password_never_reaches_the_log(tmp_path):
    # Nothing listens on port 9: the connection fails, and the failure is logged.
    config = (
        '[storage]\nurl = "postgresql+asyncpg://maxim:hunter2-secret@127.0.0.1:9/maxim"\n'
        "connect_timeout_seconds = 1\n"  # retried this long (test_database_at_start.py)
    )
    done = maxim_bot(tmp_path, config, "run")
    assert done.returncode != 0
    assert "127.0.0.1" in done.stderr  # it did log the failure
    assert "hunter2-secret" not in done.stderr


def test_the_database_password_is_redacted_like_a_token(tmp_path, capsys, restore_logging):
    from bot.__main__ import _secret_values
    from bot.config import load_settings
    from bot.log import setup_logging

    url = "postgresql+asyncpg://maxim:hunter2-secret@db.internal:5432/maxim"
    (tmp_path / "config.toml").write_text(f'[storage]\nurl = "{url}"\n')
    settings = load_settings(tmp_path / "config.toml", env={})
    setup_logging("INFO", _secret_values(settings))
    logging.getLogger("bot.test").warning("cannot reach %s", url)
    err = capsys.readouterr().err
    assert "cannot reach postgresql+asyncpg://maxim:***@db.internal:5432/maxim" in err
    assert "hunter2" not in err


@pytest.mark.child_process
def test_an_exception_escaping_everything_is_logged_redacted(tmp_path):
    script = (
        "import sys\n"
        "from bot.log import setup_logging\n"
        f"setup_logging('INFO', [{TOKEN!r}])\n"
        f"raise RuntimeError('the token was ' + {TOKEN!r})\n"
    )
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=environ, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "RuntimeError: the token was ***" in done.stderr
    assert TOKEN not in done.stderr


@starts_bot_process
def test_a_catastrophic_pattern_cannot_stall_the_console_bot(tmp_path):
    # `(a+)+$` against thirty a's and a "!" takes Python's `re` about 2**30 steps; on RE2 it is
    # linear, so the bot answers the next line at once (pytest-timeout fails a hang).
    config = '[[triggers.rules]]\nname = "aaa"\npattern = "(a+)+$"\ntags = ["compute"]\n'
    (tmp_path / "config.toml").write_text(config)
    environ = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run", "-c", str(tmp_path / "config.toml")],
        cwd=tmp_path,
        env=environ,
        input="a" * 30 + "!\n" + "a" * 40 + "\n/maxim 34\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = done.stdout.splitlines()
    assert done.returncode == 0, done.stderr
    assert lines[0].startswith("maxim-bot: #")  # "aaaa" ends with a's: the rule answers it
    assert lines[1].startswith("maxim-bot: #34 If you’re seeing NaN")
    assert "Traceback" not in done.stderr
