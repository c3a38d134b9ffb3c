"""What the deployment files promise, read from the files: fast, no tools, no processes."""

from __future__ import annotations

import subprocess
import tomllib
from urllib.parse import urlsplit

import pytest

from bot.config import SECRET_VARIABLES, ScheduleConfig, ServerConfig, load_settings
from tests.deploy.files import (
    COMPOSE_CONFIG,
    ENV_EXAMPLE,
    UNIT_ENV_EXAMPLE,
    bot_service,
    compose_environment,
    compose_mounts,
    dockerfile_stages,
    env_file_names,
    final_stage,
    image_env,
    only,
    read_unit,
    read_yaml,
    seconds,
    unit_value,
)
from tests.deploy.files import COMPOSE_FILE as COMPOSE
from tests.helpers import ROOT

STOP_GRACE_SECONDS = ScheduleConfig().stop_grace_seconds
"""How long the bot may take to stop after SIGTERM; every runtime must wait longer."""

PROBE_URL = "http://127.0.0.1:8080/healthz"
"""The [server] design of #11: `server.port` 8080, `GET /healthz`."""


# ------------------------------------------------------------------------------ Dockerfile


def test_the_image_is_built_in_one_stage_and_shipped_in_another():
    stages = dockerfile_stages()
    assert len(stages) >= 2
    bases = [stage[0].arguments.split()[0] for stage in stages]
    assert all(":" in base and not base.endswith(":latest") for base in bases), bases
    build = " ".join(i.arguments for i in stages[0] if i.keyword == "RUN")
    assert "pip wheel" in build
    assert any(i.keyword == "COPY" and "--from=" in i.arguments for i in stages[-1])


def test_the_image_runs_as_a_numeric_non_root_user():
    user = only(final_stage(), "USER").arguments
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0, user


def test_the_image_reads_its_config_from_etc_and_runs_the_bot():
    stage = final_stage()
    env = image_env(stage, {"PATH": "/usr/bin"})
    assert env["MAXIM_BOT_CONFIG"] == "/etc/maxim-bot/config.toml"
    command = only(stage, "CMD").exec_form()
    assert command[:2] == ["maxim-bot", "run"]
    assert env["PATH"].split(":")[0] == "/opt/maxim-bot/bin"  # where `maxim-bot` is


def test_the_health_check_probes_the_server_port_without_curl():
    command = only(final_stage(), "HEALTHCHECK").exec_form()
    assert command[:2] == ["python", "-c"]
    assert PROBE_URL in command[2]
    assert "urllib.request" in command[2]


def test_the_image_stops_with_sigterm():
    assert only(final_stage(), "STOPSIGNAL").arguments == "SIGTERM"


def test_the_build_context_leaves_out_secrets_and_state():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", "config.toml", ".git", ".venv", "*.db"} <= set(ignored)


# ------------------------------------------------------------------------------ compose


def test_two_bot_replicas_share_a_healthy_database():
    services = read_yaml(COMPOSE)["services"]
    bot = bot_service()
    assert bot["deploy"]["replicas"] == 2
    [(db_name, dependency)] = bot["depends_on"].items()
    assert dependency == {"condition": "service_healthy"}
    db = services[db_name]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    [data_volume] = [v.split(":")[0] for v in db["volumes"]]
    assert data_volume in read_yaml(COMPOSE)["volumes"]  # a named volume, not a host path


def test_compose_waits_longer_than_the_bot_takes_to_stop():
    bot = bot_service()
    assert bot.get("stop_signal", "SIGTERM") == "SIGTERM"
    assert seconds(bot["stop_grace_period"]) > STOP_GRACE_SECONDS


def test_compose_mounts_the_config_where_the_image_looks_for_it():
    bot = bot_service()
    env = image_env(final_stage(), {}) | compose_environment(bot)
    mounts = compose_mounts(bot)
    assert env["MAXIM_BOT_CONFIG"] in mounts
    assert mounts[env["MAXIM_BOT_CONFIG"]] == "./config.toml"
    assert any(str(v).endswith(":ro") for v in bot["volumes"])


@pytest.mark.child_process
def test_secrets_come_from_a_git_ignored_env_file():
    assert bot_service()["env_file"] == ".env"
    assert not set(SECRET_VARIABLES.values()) & set(compose_environment(bot_service()))
    assert is_git_ignored(".env")
    assert is_git_ignored("config.toml")  # the compose file mounts ./config.toml
    assert not is_git_ignored(".env.example")


def is_git_ignored(path: str) -> bool:
    done = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=ROOT, check=False)
    assert done.returncode in (0, 1), f"git check-ignore failed on {path}"
    return done.returncode == 0


@pytest.mark.parametrize("example", [ENV_EXAMPLE, UNIT_ENV_EXAMPLE], ids=lambda p: p.name)
def test_env_examples_list_every_secret_and_no_value(example):
    names = env_file_names(example)
    assert set(SECRET_VARIABLES.values()) <= set(names)
    for line in example.read_text(encoding="utf-8").splitlines():
        if line.startswith(tuple(SECRET_VARIABLES.values())):
            assert line.endswith("="), line  # an example never carries a token


def test_the_compose_config_points_at_the_compose_database():
    config = tomllib.loads(COMPOSE_CONFIG.read_text(encoding="utf-8"))
    url = urlsplit(config["storage"]["url"])
    db_name = next(iter(bot_service()["depends_on"]))
    db_env = compose_environment(read_yaml(COMPOSE)["services"][db_name])
    assert url.scheme == "postgresql+asyncpg"
    assert (url.hostname, url.port) == (db_name, 5432)
    assert url.username == db_env["POSTGRES_USER"]
    assert url.path == f"/{db_env['POSTGRES_DB']}"
    assert "POSTGRES_PASSWORD" in env_file_names(ENV_EXAMPLE)
    # compose fills it in from .env; the database never gets the bot's tokens
    assert db_env["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    assert "env_file" not in read_yaml(COMPOSE)["services"][db_name]


def test_the_compose_config_turns_on_the_server_the_health_check_probes():
    server = tomllib.loads(COMPOSE_CONFIG.read_text(encoding="utf-8"))["server"]
    assert server["enabled"] is True
    assert urlsplit(PROBE_URL).port == server.get("port", 8080)


def test_the_compose_config_is_valid(tmp_path):
    settings = load_settings(
        COMPOSE_CONFIG, env={"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": "xapp-x"}
    )
    assert settings.platforms == ("slack",)  # never the console chat in a container
    assert settings.server.enabled
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 8080)


# ------------------------------------------------------------------------------ systemd


def test_the_unit_runs_the_venv_bot_with_the_etc_config():
    unit = read_unit()
    assert unit_value(unit, "Service", "ExecStart") == (
        "/opt/maxim-bot/bin/maxim-bot run -c /etc/maxim-bot/config.toml"
    )
    assert unit_value(unit, "Service", "EnvironmentFile") == "/etc/maxim-bot/env"
    assert unit_value(unit, "Install", "WantedBy") == "multi-user.target"


def test_the_unit_keeps_sqlite_in_its_state_directory():
    unit = read_unit()
    assert unit_value(unit, "Service", "DynamicUser") == "yes"
    state = unit_value(unit, "Service", "StateDirectory")
    assert unit_value(unit, "Service", "WorkingDirectory") == f"/var/lib/{state}"
    # the default storage url is relative to the working directory
    assert load_settings(None, env={}).storage.url == "sqlite+aiosqlite:///maxim-bot.db"


def test_the_unit_restarts_on_failure_and_waits_longer_than_the_bot_takes_to_stop():
    unit = read_unit()
    assert unit_value(unit, "Service", "Restart") == "on-failure"
    assert unit_value(unit, "Service", "KillSignal") == "SIGTERM"
    assert seconds(unit_value(unit, "Service", "TimeoutStopSec")) > STOP_GRACE_SECONDS


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("RestrictSUIDSGID", "yes"),
        ("CapabilityBoundingSet", ""),
    ],
)
def test_the_unit_is_hardened(key, value):
    assert unit_value(read_unit(), "Service", key) == value


def test_the_unit_gives_the_bot_more_open_files_than_its_connection_caps():
    # systemd's default soft limit (1,024) ran out in a flood of idle connections; a filtered
    # system call (the bot raising its own limit) fails instead of killing the process.
    unit = read_unit()
    assert int(unit_value(unit, "Service", "LimitNOFILE")) >= 4 * ServerConfig().max_connections
    assert unit_value(unit, "Service", "SystemCallErrorNumber") == "EPERM"
