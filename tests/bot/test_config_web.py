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
