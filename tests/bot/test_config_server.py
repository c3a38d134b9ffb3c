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
    ],
)
def test_a_wrong_server_or_log_key_names_it(tmp_path, text, key):
    with pytest.raises(ConfigError, match=rf": {key}: "):
        settings_from(tmp_path, text)
