"""The `maxim` command: output, exit statuses, and a start-up that loads no framework.

Process tests run ``python -m bot.cli.maxim`` with this checkout on PYTHONPATH, so they test
this code whatever the venv installed; one test checks the installed console scripts.
"""

import io
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.maxim import run
from maxims import load_corpus
from tests.helpers import python_env


def run_maxim(*args, python_options=()):
    """Run the `maxim` command as a process of its own; the finished process."""
    return subprocess.run(
        [sys.executable, *python_options, "-m", "bot.cli.maxim", *args],
        capture_output=True,
        text=True,
        env=python_env(),
        timeout=60,
    )


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    status = run(list(args), out, err)
    return status, out.getvalue(), err.getvalue()


def test_number_prints_that_maxim():
    status, out, err = call("42")
    assert status == 0
    assert out == f"{load_corpus().get(42).text}\n    — maxim #42\n"
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


@pytest.mark.child_process
def test_the_command_imports_no_framework():
    done = run_maxim("42", python_options=("-X", "importtime"))
    assert done.returncode == 0, done.stderr
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
    assert done.stdout == f"{load_corpus().get(42).text}\n    — maxim #42\n"


@pytest.mark.child_process
def test_the_command_exits_with_the_right_status():
    assert [run_maxim(arg).returncode for arg in ("34", "71", "zzqqx")] == [0, 2, 1]


@pytest.mark.child_process
def test_the_venv_has_both_console_scripts():
    """`make install` must give users `maxim` and `maxim-bot` (pyproject's [project.scripts]).

    Fails, never skips: a venv without them is a broken install, not a reason to test less.
    """
    scripts = Path(sys.executable).parent
    maxim = subprocess.run(
        [str(scripts / "maxim"), "34"], capture_output=True, text=True, timeout=60
    )
    assert (maxim.returncode, maxim.stdout.splitlines()[0]) == (0, load_corpus().get(34).text)
    bot = subprocess.run(
        [str(scripts / "maxim-bot"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert (bot.returncode, bot.stdout.splitlines()[0]) == (0, "usage: maxim-bot [-h] COMMAND ...")
