"""The `maxim` command: output, exit statuses, and a start-up that loads no framework."""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.maxim import run
from maxims import load_corpus

MAXIM = Path(sys.executable).with_name("maxim")


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    status = run(list(args), out, err)
    return status, out.getvalue(), err.getvalue()


def test_number_prints_that_maxim():
    status, out, err = call("42")
    assert status == 0
    assert out.splitlines()[0] == load_corpus().get(42).text
    assert "#42" in out
    assert err == ""


@pytest.mark.parametrize("args", [(), ("today",), ("search", "nan"), ("list",), ("#7",)])
def test_good_queries_exit_zero(args):
    status, out, err = call(*args)
    assert (status, err) == (0, "")
    assert out.strip()


def test_search_lists_the_nan_maxims():
    _, out, _ = call("search", "nan")
    assert {line.split()[0] for line in out.splitlines()} >= {"#34", "#40", "#55"}


def test_help_goes_to_stdout():
    status, out, _ = call("--help")
    assert status == 0
    assert out.startswith("usage: maxim")
    assert "maxim search WORDS" in out


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (("71",), 2),
        (("0",), 2),
        (("1e9",), 2),
        (("#",), 2),
        (("--frobnicate",), 2),
        (("search", "qqqqqq"), 1),
        (("xqzvw",), 1),
        (("daily",), 2),
    ],
)
def test_failures_exit_with_status_and_message_on_stderr(args, status):
    got, out, err = call(*args)
    assert got == status
    assert out == ""
    assert err.startswith("maxim: ")
    assert "Traceback" not in err


@pytest.mark.skipif(not MAXIM.exists(), reason="the maxim script is not installed in this venv")
def test_the_installed_command_imports_no_framework():
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(MAXIM), "42"], capture_output=True, text=True
    )
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    heavy = {
        "slack_bolt",
        "slack_sdk",
        "discord",
        "apscheduler",
        "argparse",
        "tomllib",
        "pydantic",
        "sqlalchemy",
        "re",
        "typing",
        "dataclasses",
        "random",
    }
    assert "maxims" in imported
    assert imported & heavy == set()
    assert load_corpus().get(42).text in done.stdout


@pytest.mark.skipif(not MAXIM.exists(), reason="the maxim script is not installed in this venv")
def test_the_installed_command_exits_with_the_right_status():
    assert subprocess.run([str(MAXIM), "34"], capture_output=True).returncode == 0
    assert subprocess.run([str(MAXIM), "71"], capture_output=True).returncode == 2
    assert subprocess.run([str(MAXIM), "zzqqx"], capture_output=True).returncode == 1
