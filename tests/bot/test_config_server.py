"""``[server]`` and ``log.format``: defaults, the documented example, and errors naming the key."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_settings
from tests.helpers import ROOT


def settings_from(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_settings(path, env={})


def test_the_server_is_off_on_loopback_8080_by_default():
    settings = load_settings(None, env={})
    server = settings.server
    assert (server.enabled, server.host, server.port) == (False, "127.0.0.1", 8080)
    assert settings.log.format == "text"


def test_the_example_documents_the_defaults():
    settings = load_settings(ROOT / "config.example.toml", env={})
    assert settings.server == load_settings(None, env={}).server
    assert settings.log.format == "text"


def test_server_keys_are_read(tmp_path):
    settings = settings_from(
        tmp_path,
        '[server]\nenabled = true\nhost = "0.0.0.0"\nport = 9100\n[log]\nformat = "json"\n',
    )
    assert (settings.server.enabled, settings.server.host, settings.server.port) == (
        True,
        "0.0.0.0",
        9100,
    )
    assert settings.log.format == "json"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[server]\nport = 70000\n", "server.port"),
        ("[server]\nenabeld = true\n", "server.enabeld"),
        ('[log]\nformat = "xml"\n', "log.format"),
        ("[server]\nmax_connections = 0\n", "server.max_connections"),
        ("[server]\nidle_timeout_seconds = 0\n", "server.idle_timeout_seconds"),
        ("[server]\nheader_timeout_seconds = -1\n", "server.header_timeout_seconds"),
        ("[server]\nbody_timeout_seconds = 9000\n", "server.body_timeout_seconds"),
    ],
)
def test_a_wrong_server_or_log_key_names_it(tmp_path, text, key):
    with pytest.raises(ConfigError, match=rf": {key}: "):
        settings_from(tmp_path, text)


def test_the_listener_limits_default_to_a_cap_and_timeouts_and_are_read(tmp_path):
    defaults = load_settings(None, env={}).server
    assert (
        defaults.max_connections,
        defaults.idle_timeout_seconds,
        defaults.header_timeout_seconds,
        defaults.body_timeout_seconds,
    ) == (256, 75, 10, 10)
    server = settings_from(
        tmp_path,
        "[server]\nmax_connections = 64\nidle_timeout_seconds = 30\n"
        "header_timeout_seconds = 5\nbody_timeout_seconds = 2.5\n",
    ).server
    assert (
        server.max_connections,
        server.idle_timeout_seconds,
        server.header_timeout_seconds,
        server.body_timeout_seconds,
    ) == (64, 30, 5, 2.5)
