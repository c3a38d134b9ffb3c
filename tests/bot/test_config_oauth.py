"""Slack OAuth in the configuration: what turns it on, and what it refuses at start."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings

OAUTH = {"SLACK_CLIENT_ID": "1111.2222", "SLACK_CLIENT_SECRET": "s3cret-value"}


def test_client_id_and_secret_start_slack_in_http_mode(tmp_path):
    settings = load_settings(None, env={**OAUTH, "SLACK_SIGNING_SECRET": "x"})

    assert settings.platforms == ("slack",)
    assert settings.slack_mode == "http"
    assert settings.secrets.slack_oauth
    assert "s3cret-value" not in repr(settings)


@pytest.mark.parametrize(
    ("env", "config", "named"),
    [
        ({"SLACK_CLIENT_ID": "1111.2222"}, "", "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET: "),
        ({**OAUTH, "SLACK_BOT_TOKEN": "xoxb-1"}, "", "SLACK_BOT_TOKEN: "),
        (OAUTH, '[slack]\nmode = "socket"\n', "slack.mode: OAuth needs HTTP mode"),
        (OAUTH, '[slack]\nredirect_uri = "http://bot.example.com/r"\n', "slack.redirect_uri"),
    ],
    ids=["half", "both-ways", "socket", "plain-http-redirect"],
)
def test_what_cannot_work_is_refused_with_the_key(tmp_path, env, config, named):
    path = tmp_path / "config.toml"
    path.write_text(config)

    with pytest.raises(ConfigError) as refused:
        load_settings(path, env=env)

    assert named in str(refused.value)
    assert "s3cret-value" not in str(refused.value)
