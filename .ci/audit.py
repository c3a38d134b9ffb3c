"""`make audit`: pip-audit of every pinned version in a constraints file, honest about reach.

Usage: python .ci/audit.py CONSTRAINTS [--osv-url URL]

pip-audit asks OSV (its `osv` service) about each pinned release. Where OSV is out of reach
(this project's own CI has no internet but the package registries), this prints one line
saying that nothing was audited and exits 0: an unreachable database is neither a finding
nor a pass. Where OSV answers, pip-audit's verdict stands, and a known vulnerability fails
the build.

Why OSV and not pip-audit's default `pypi` service: behind a registry mirror, PyPI's
per-release JSON answers 404, which pip-audit reports as "Dependency not found on PyPI" for
every package and then "No known vulnerabilities found", exit 0: a silent non-audit. OSV is
the database PyPI's own advisories come from, and its being out of reach shows plainly as a
failed connection, which the probe below tells apart from everything else.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

OSV_URL = "https://api.osv.dev/v1/query"
PROBE_TIMEOUT = 15.0
"""Seconds to wait for OSV's answer to the probe (pip-audit's own default socket timeout)."""


def unreachable_reason(osv_url: str) -> str | None:
    """Why `osv_url` cannot be reached, or None when it answers (with any HTTP status).

    The probe is one real OSV query (pip at version 0), so a proxy or a wrong URL that
    answers with an HTTP error counts as reached and is left to pip-audit to report.
    """
    query = {"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "0"}
    request = urllib.request.Request(  # noqa: S310 (the URL is ours: https, or a test's loopback)
        osv_url,
        data=json.dumps(query).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=PROBE_TIMEOUT):  # noqa: S310 (as above)
            return None
    except urllib.error.HTTPError:
        return None
    except urllib.error.URLError as error:
        return str(error.reason)
    except OSError as error:  # a timeout or a reset while reading the answer
        return str(error) or type(error).__name__


def audit(constraints: Path, osv_url: str) -> int:
    """Run pip-audit on `constraints` against OSV; its exit status, or 0 when out of reach."""
    reason = unreachable_reason(osv_url)
    if reason is not None:
        print(
            f"pip-audit: the vulnerability database ({osv_url}) is out of reach ({reason}): "
            f"{constraints} was NOT audited"
        )
        return 0
    pip_audit = Path(sys.executable).parent / "pip-audit"
    command = [
        str(pip_audit),
        "--requirement",
        str(constraints),
        # Every line is pinned: no resolver, no pip, no temporary venv.
        "--no-deps",
        "--disable-pip",
        "--vulnerability-service",
        "osv",
        "--osv-url",
        osv_url,
        "--strict",
        "--progress-spinner",
        "off",
    ]
    return subprocess.run(command, check=False).returncode  # noqa: S603 (our own arguments)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and audit."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("constraints", type=Path, help="a file of pinned requirements (==)")
    parser.add_argument("--osv-url", default=OSV_URL, help="OSV's query endpoint")
    args = parser.parse_args(argv)
    return audit(args.constraints, args.osv_url)


if __name__ == "__main__":
    sys.exit(main())
