"""``[web]``: defaults, the documented example, and errors that name the key."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from tests.helpers import ROOT


def settings_from(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_settings(path, env={})


def test_the_pages_are_off_on_loopback_8000_by_default():
    web = load_settings(None, env={}).web
    assert (web.enabled, web.host, web.port, web.public_url) == (False, "127.0.0.1", 8000, None)


def test_the_example_documents_the_defaults():
    assert (
        load_settings(ROOT / "config.example.toml", env={}).web == load_settings(None, env={}).web
    )


def test_web_keys_are_read_and_the_public_url_loses_its_trailing_slash(tmp_path):
    web = settings_from(
        tmp_path,
        '[web]\nenabled = true\nport = 8443\npublic_url = "https://maxims.example.org/"\n'
        'support_url = "https://example.org/help"\ncontact = "maxims@example.org"\n',
    ).web
    assert web.public_url == "https://maxims.example.org"
    assert (web.port, web.support_url, web.contact) == (
        8443,
        "https://example.org/help",
        "maxims@example.org",
    )


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[web]\nenabled = true\n", "web.public_url"),
        ('[web]\npublic_url = "http://maxims.example.org"\n', "web.public_url"),
        ('[web]\npublic_url = "https://maxims.example.org/?a=1"\n', "web.public_url"),
        ('[web]\npublic_url = "ftp://maxims.example.org"\n', "web.public_url"),
        ('[web]\nsupport_url = "http://example.org/help"\n', "web.support_url"),
        ("[web]\nport = 70000\n", "web.port"),
        ('[web]\ncontact = ""\n', "web.contact"),
        ("[web]\nenable = true\n", "web.enable"),
    ],
)
def test_a_wrong_web_key_is_named(tmp_path, text, key):
    with pytest.raises(ConfigError) as caught:
        settings_from(tmp_path, text)
    assert key in str(caught.value)


def test_plain_http_is_allowed_on_loopback(tmp_path):
    web = settings_from(
        tmp_path, '[web]\nenabled = true\npublic_url = "http://127.0.0.1:8000"\n'
    ).web
    assert web.public_url == "http://127.0.0.1:8000"


HTTP_SLACK = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "secret"}
PAGES = '[web]\nenabled = true\npublic_url = "https://maxims.example.org"\n'


def load(tmp_path, text: str, env: dict[str, str] | None = None):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_settings(path, env=env or {})


@pytest.mark.parametrize(
    ("text", "env", "problem"),
    [
        (
            PAGES + "port = 9100\n[server]\nenabled = true\nport = 9100\n",
            {},
            "web.port: 9100 is server.port too, on the same address: give the pages a port",
        ),
        (
            PAGES + "port = 3000\n",
            HTTP_SLACK,
            "web.port: 3000 is slack.http_port too, on the same address: give the pages a port",
        ),
        (
            PAGES + 'port = 3000\nhost = "0.0.0.0"\n[slack]\nhttp_host = "127.0.0.2"\n',
            HTTP_SLACK,
            "web.port: 3000 is slack.http_port too",
        ),
    ],
)
def test_the_pages_need_a_port_of_their_own(tmp_path, text, env, problem):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text, env)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    ("text", "env"),
    [
        (PAGES + "port = 3000\n", {}),  # no Slack HTTP server
        (PAGES + "port = 3000\n", {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}),
        (PAGES + 'port = 3000\nhost = "127.0.0.2"\n', HTTP_SLACK),  # another address
        (PAGES + "port = 0\n[server]\nenabled = true\nport = 0\n", {}),  # each any free port
    ],
)
def test_the_pages_may_share_a_port_number_that_no_other_listener_uses_there(tmp_path, text, env):
    assert load(tmp_path, text, env).web.enabled


def test_the_pages_alone_are_something_to_run(tmp_path):
    settings = load(tmp_path, PAGES + "[console]\nenabled = false\n")
    assert (settings.platforms, settings.web.enabled) == ((), True)


def test_with_the_console_off_and_no_pages_nothing_would_run(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "[console]\nenabled = false\n")
    assert "console.enabled" in str(caught.value)
    assert "[web] enabled = true" in str(caught.value)


def test_the_discord_client_id_is_read_and_must_be_positive(tmp_path):
    assert load(tmp_path, "[discord]\nclient_id = 1234\n").discord.client_id == 1234
    assert load(tmp_path, "").discord.client_id is None
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "[discord]\nclient_id = 0\n")
    assert "discord.client_id" in str(caught.value)


def test_check_config_names_where_the_pages_are(tmp_path, capsys, restore_logging):
    from bot.__main__ import main

    path = tmp_path / "config.toml"
    path.write_text(PAGES + "port = 8100\n")
    assert main(["check-config", "-c", str(path)]) == 0
    assert (
        "web pages: https://maxims.example.org (listening on 127.0.0.1:8100)"
        in capsys.readouterr().out
    )
