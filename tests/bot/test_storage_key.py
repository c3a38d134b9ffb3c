"""``MAXIM_STORAGE_KEY``: a malformed key stops check-config and run with one line (exit 2)
that names the variable and never shows the key; the keys are redacted from logs; without a
key, `cryptography` is never imported."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from bot.__main__ import _secret_values, main
from bot.config import load_settings
from tests.helpers import python_env

GOOD = Fernet.generate_key().decode()
OTHER = Fernet.generate_key().decode()


@pytest.mark.parametrize("command", ["check-config", "run"])
@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("not-a-fernet-key", "key 1 of 1 is not a Fernet key"),
        (f"{GOOD},short", "key 2 of 2 is not a Fernet key"),
        (f"{GOOD[:-2]}!!", "key 1 of 1 is not a Fernet key"),
        (" , ", "no key in it"),
    ],
    ids=["not base64", "the second too short", "not url-safe", "only commas"],
)
def test_a_malformed_key_exits_2_with_one_line_naming_the_variable(
    monkeypatch, capsys, restore_logging, tmp_path, command, value, problem
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAXIM_BOT_CONFIG", raising=False)
    monkeypatch.setenv("MAXIM_STORAGE_KEY", value)
    assert main([command]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(f"maxim-bot: defaults: MAXIM_STORAGE_KEY: {problem} (")
    for key in filter(None, (part.strip() for part in value.split(","))):
        assert key not in captured.err + captured.out


def test_a_list_of_keys_is_read_new_one_first_and_every_key_is_redacted():
    settings = load_settings(None, env={"MAXIM_STORAGE_KEY": f" {GOOD} ,{OTHER}"})
    from bot.config.storage_key import storage_keys

    assert storage_keys(settings.secrets.storage_key) == (GOOD, OTHER)
    assert GOOD not in repr(settings)
    assert {GOOD, OTHER} <= set(_secret_values(settings))


def test_without_a_key_cryptography_is_never_imported(tmp_path):
    probe = (
        "import sys\n"
        "from bot.__main__ import main\n"
        "status = main(['check-config'])\n"
        "print(status, 'cryptography' in sys.modules)\n"
    )
    env = python_env()
    env.pop("MAXIM_STORAGE_KEY", None)
    env.pop("MAXIM_BOT_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "0 False"
