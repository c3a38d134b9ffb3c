"""The Makefile's venvs: one per interpreter, so `make test PYTHON=python3.13` runs on 3.13.

`.venv` belongs to the default `python3` (the README's commands and the pre-commit hooks
look there); any other PYTHON gets `.venv-<its name>`. Every target that runs a tool from a
venv must use the same one, which a dry run (`make -n`: prints, runs nothing) shows.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

VENV_TARGETS = ["install", "run", "lint", "types", "pytest", "bench", "audit", "mutate"]
"""Every target that runs something from the venv (`test` is lint, types and pytest)."""


def make(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("python", "venv"),
    [
        ("python3", ".venv"),
        ("python3.13", ".venv-python3.13"),
        ("/opt/python/bin/python3.12", ".venv-python3.12"),
    ],
)
@pytest.mark.parametrize("target", VENV_TARGETS)
def test_each_target_runs_from_the_venv_of_its_python(target, python, venv):
    done = make("--dry-run", target, f"PYTHON={python}")
    assert done.returncode == 0, done.stderr
    used = set(re.findall(r"(?<![\w.-])(\.venv[\w.-]*)/", done.stdout))
    assert used == {venv}, done.stdout


def test_a_venv_made_by_another_python_is_refused(tmp_path):
    # The venv's Python stays what made it: when PYTHON has moved on (a new pyenv global),
    # make stops with a hint instead of testing the old Python.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    moved_on = tmp_path / "python3"
    moved_on.write_text("#!/bin/sh\necho 3.99\n", encoding="utf-8")
    moved_on.chmod(0o755)

    done = make("venv-check", f"PYTHON={moved_on}", f"VENV={venv}")
    ours = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert done.returncode != 0
    assert f"{venv} runs Python {ours} but {moved_on} is 3.99" in done.stdout

    assert make("venv-check", f"PYTHON={sys.executable}", f"VENV={venv}").returncode == 0
