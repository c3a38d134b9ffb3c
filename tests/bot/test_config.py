"""Configuration: the example loads, every error names its key, secrets stay secret."""

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import ConfigError, find_config_file, load_settings

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_example_config_is_valid_and_means_the_defaults():
    settings = load_settings(ROOT / "config.example.toml", env={})
    assert settings.triggers.cooldown_seconds == 600
    assert [r.name for r in settings.triggers.rules] == ["oom"]
    assert settings.triggers.rules[0].enabled is False
    assert settings.storage.url == "sqlite+aiosqlite:///maxim-bot.db"
    assert settings.platforms == ("console",)
    assert settings.schedule.max_concurrent_posts == 8
    assert settings.schedule.max_concurrent_per_workspace == 4


def test_the_per_workspace_bound_is_read(tmp_path):
    text = "[schedule]\nmax_concurrent_posts = 32\nmax_concurrent_per_workspace = 2\n"
    schedule = load_settings(write(tmp_path, text), env={}).schedule
    assert (schedule.max_concurrent_posts, schedule.max_concurrent_per_workspace) == (32, 2)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[triggers]\ncooldown_secs = 3\n", "triggers.cooldown_secs: unknown key"),
        ("[triggers]\ncooldown_seconds = -1\n", "triggers.cooldown_seconds:"),
        ('[[daily]]\nplatform = "irc"\nchannel = "x"\n', "daily[0].platform:"),
        ('[[daily]]\nplatform = "slack"\nchannel = "C1"\ntime = "25:61"\n', "HH:MM"),
        ('[[daily]]\nplatform = "slack"\nchannel = "C1"\ntimezone = "Mars/Olympus"\n', "IANA"),
        ('[storage]\nurl = "mysql://x"\n', "storage.url:"),
        ('[[triggers.rules]]\nname = "x"\npattern = "("\ntags = ["nan"]\n', "not a pattern the"),
        ("[discord]\nshard_ids = [0]\n", "shard_ids needs shard_count"),
        ('[log]\nlevel = "LOUD"\n', "log.level:"),
        ("[schedule]\nmax_concurrent_per_workspace = 0\n", "max_concurrent_per_workspace:"),
        ("[schedule]\nmax_concurrent_per_workspace = 2.5\n", "max_concurrent_per_workspace:"),
        ("[log\n", "not valid TOML"),
    ],
)
def test_each_mistake_is_one_line_naming_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env={})
    line = str(caught.value)
    assert message in line
    assert "\n" not in line
    assert line.startswith(str(tmp_path / "config.toml"))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "nope.toml", env={})


def test_the_file_is_found_by_flag_then_env_then_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_config_file(None, {}) is None
    write(tmp_path, "")
    assert find_config_file(None, {}) == Path("config.toml")
    assert find_config_file(None, {"MAXIM_BOT_CONFIG": "/etc/m.toml"}) == Path("/etc/m.toml")
    assert find_config_file("x.toml", {"MAXIM_BOT_CONFIG": "/etc/m.toml"}) == Path("x.toml")


def test_tokens_start_platforms_and_never_show(tmp_path):
    env = {"SLACK_BOT_TOKEN": "xoxb-very-secret", "SLACK_APP_TOKEN": "xapp-also-secret"}
    settings = load_settings(None, env=env)
    assert settings.platforms == ("slack",)
    assert settings.slack_mode == "socket"
    assert "very-secret" not in repr(settings)
    assert "very-secret" not in str(settings.model_dump())
    assert settings.secrets.slack_bot_token.get_secret_value() == "xoxb-very-secret"


def test_console_can_run_beside_a_platform(tmp_path):
    path = write(tmp_path, "[console]\nenabled = true\n")
    settings = load_settings(path, env={"DISCORD_TOKEN": "t"})
    assert settings.platforms == ("console", "discord")


def test_url_variables_override_the_file(tmp_path):
    path = write(tmp_path, '[slack]\napi_url = "https://file.example/api/"\n')
    env = {"SLACK_API_URL": "http://127.0.0.1:9/api/", "DISCORD_API_BASE": "http://127.0.0.1:9/v10"}
    settings = load_settings(path, env=env)
    assert settings.slack.api_url == "http://127.0.0.1:9/api/"
    assert settings.discord.api_base == "http://127.0.0.1:9/v10"


def test_check_config_summarises_without_secrets(monkeypatch, capsys, restore_logging):
    monkeypatch.setenv("DISCORD_TOKEN", "discord-secret-value")
    status = main(["check-config", "-c", str(ROOT / "config.example.toml")])
    out = capsys.readouterr().out
    assert status == 0
    assert "platforms: discord" in out
    assert "discord-secret-value" not in out


def test_a_bad_file_exits_2_with_one_line(tmp_path, capsys, restore_logging):
    status = main(["check-config", "-c", str(write(tmp_path, "[nope]\n"))])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert "nope: unknown key" in err
