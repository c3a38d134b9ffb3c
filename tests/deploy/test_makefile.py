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

VENV_TARGETS = [
    "install",
    "run",
    "lint",
    "types",
    "pytest",
    "bench",
    "audit",
    "audit-web",
    "mutate",
]
"""Every target that runs something from the venv (`test` is lint, types and pytest)."""


def make(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
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
    # It names itself when asked where it is (make's PYTHON_EXE), else says 3.99.
    moved_on.write_text(
        '#!/bin/sh\ncase "$2" in *executable*) echo "$0" ;; *) echo 3.99 ;; esac\n',
        encoding="utf-8",
    )
    moved_on.chmod(0o755)

    done = make("venv-check", f"PYTHON={moved_on}", f"VENV={venv}")
    ours = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert done.returncode != 0
    assert f"{venv} runs Python {ours} but {moved_on} is 3.99" in done.stdout

    assert make("venv-check", f"PYTHON={sys.executable}", f"VENV={venv}").returncode == 0


def test_a_python_that_pyenv_has_but_not_on_path_is_found(tmp_path):
    # pyenv puts python3.13 on PATH only while 3.13 is an active version; `make test
    # PYTHON=python3.13` finds it under `pyenv root` anyway, the newest version first.
    root = tmp_path / "pyenv"
    for version in ("3.9.1", "3.10.2"):
        (root / "versions" / version / "bin").mkdir(parents=True)
        (root / "versions" / version / "bin" / "python9.9").write_text("#!/bin/sh\n")
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "pyenv").write_text(f"#!/bin/sh\necho {root}\n")
    (tools / "pyenv").chmod(0o755)
    env = {"PATH": f"{tools}:/usr/bin:/bin"}
    done = make("--dry-run", ".venv-python9.9/bin/python", "PYTHON=python9.9", env=env)
    assert f"{root}/versions/3.10.2/bin/python9.9 -m venv .venv-python9.9" in done.stdout


def test_a_python_found_nowhere_is_one_line(tmp_path):
    done = make(".venv-python9.8/bin/python", "PYTHON=python9.8", env={"PATH": "/usr/bin:/bin"})
    assert done.returncode != 0
    assert "python9.8 not found: install it, or pass PYTHON=/path/to/python" in done.stdout
    assert not (ROOT / ".venv-python9.8").exists()
