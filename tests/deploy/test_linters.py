"""The deployment files pass their linters; `make lint` runs the same first three checks.

Each check also runs once on a broken copy, so a linter that stopped checking (a wrong
schema name, a verify that ignores its input) fails here instead of passing everything.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.files import COMPOSE_FILE, DOCKERFILE, UNIT_FILE, WORKFLOW

BIN = Path(sys.executable).parent
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
HOST_UNITS = Path("/usr/lib/systemd/system")
pytestmark = pytest.mark.child_process  # every test runs a linter


def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=60, check=False
    )


def hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    # The default failure threshold is "info": any finding fails.
    return run(BIN / "hadolint", "--no-color", path)


def check_schema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    # Built-in schemas ship inside check-jsonschema: no network.
    return run(BIN / "check-jsonschema", "--builtin-schema", schema, path)


def test_the_dockerfile_is_clean_under_hadolint():
    done = hadolint(DOCKERFILE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_rejects_a_dockerfile_running_as_root(tmp_path):
    broken = tmp_path / "Dockerfile"
    broken.write_text(DOCKERFILE.read_text(encoding="utf-8") + "USER root\n", encoding="utf-8")
    done = hadolint(broken)
    assert done.returncode != 0
    assert "DL3002" in done.stdout  # last USER should not be root


@pytest.mark.parametrize(
    ("schema", "path", "breakage"),
    [
        ("vendor.compose-spec", COMPOSE_FILE, ("service_healthy", "service_healty")),
        ("vendor.github-workflows", WORKFLOW, ("runs-on:", "runs_on:")),
    ],
    ids=["compose", "workflow"],
)
def test_the_yaml_files_follow_their_schemas(tmp_path, schema, path, breakage):
    done = check_schema(schema, path)
    assert done.returncode == 0, done.stdout + done.stderr

    text = path.read_text(encoding="utf-8")
    assert breakage[0] in text
    broken = tmp_path / path.name
    broken.write_text(text.replace(breakage[0], breakage[1]), encoding="utf-8")
    assert check_schema(schema, broken).returncode == 1


def systemd_verify(unit: Path, root: Path) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` of `unit` installed in a scratch root.

    On the host, verify fails on the ExecStart binary (no /opt/maxim-bot here). In a scratch
    root holding a stand-in for that binary and a copy of the host's units (for the targets
    the unit orders itself after), every complaint left is about the unit itself. Verify
    exits 0 on unknown keys and bad values, only warning about them, so the output must be
    empty as well.
    """
    assert SYSTEMD_ANALYZE is not None
    bin_dir = root / "opt" / "maxim-bot" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "maxim-bot").write_text("#!/bin/sh\n")
    (bin_dir / "maxim-bot").chmod(0o755)
    shutil.copytree(HOST_UNITS, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    system = root / "etc" / "systemd" / "system"
    system.mkdir(parents=True)
    shutil.copy(unit, system / UNIT_FILE.name)
    return run(SYSTEMD_ANALYZE, "verify", "--man=no", f"--root={root}", UNIT_FILE.name)


needs_systemd = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None or not HOST_UNITS.is_dir(),
    reason="systemd-analyze is not installed (tests/deploy/test_files.py still reads the unit)",
)


@needs_systemd
def test_systemd_accepts_the_unit(tmp_path):
    done = systemd_verify(UNIT_FILE, tmp_path / "root")
    assert (done.returncode, done.stdout + done.stderr) == (0, "")


@needs_systemd
def test_systemd_verify_reports_a_misspelt_key(tmp_path):
    broken = tmp_path / UNIT_FILE.name
    text = UNIT_FILE.read_text(encoding="utf-8")
    broken.write_text(text.replace("ProtectHome=", "ProtectHomes="), encoding="utf-8")
    done = systemd_verify(broken, tmp_path / "root")
    assert "Unknown key 'ProtectHomes'" in done.stdout + done.stderr
