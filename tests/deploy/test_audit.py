"""`make audit` (.ci/audit.py): the real pip-audit against a loopback stand-in for OSV.

The stand-in answers OSV's `/v1/query` the way OSV does (an empty object for a release with
no advisory, `{"vulns": [...]}` otherwise) and records what it was asked, so these tests
check that a finding fails the build, that a clean audit passes, that an unreachable
database is one line and a pass, and that a database which answers with an error fails.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from packaging.markers import Marker
from packaging.utils import canonicalize_name

from tests.helpers import ROOT

AUDIT = ROOT / ".ci" / "audit.py"
CONSTRAINTS = ROOT / "constraints.txt"

ADVISORY = {
    "id": "GHSA-0000-test-0000",
    "aliases": ["CVE-2099-0001"],
    "summary": "A made-up advisory for the audit's own test",
    "affected": [
        {
            "package": {"name": "aiohttp", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.9.2"}]}],
        }
    ],
}


@dataclass
class FakeOsv:
    """OSV's query endpoint on 127.0.0.1: advisories by (package, version), every query kept."""

    advisories: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    status: int = 200
    queries: list[tuple[str, str]] = field(default_factory=list)
    url: str = ""

    async def query(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        key = (body["package"]["name"], body["version"])
        self.queries.append(key)
        if self.status != 200:
            return web.Response(status=self.status, text="the database is having a bad day")
        vulns = self.advisories.get(key)
        return web.json_response({"vulns": vulns} if vulns else {})


@pytest.fixture
async def osv() -> AsyncIterator[FakeOsv]:
    fake = FakeOsv()
    app = web.Application()
    app.router.add_post("/v1/query", fake.query)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}/v1/query"
    try:
        yield fake
    finally:
        await runner.cleanup()


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


async def audit(constraints: Path, osv_url: str) -> Run:
    """`make audit` as its recipe runs it, while this loop keeps serving the fake OSV."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        AUDIT,
        constraints,
        "--osv-url",
        osv_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode is not None
    return Run(process.returncode, stdout.decode(), stderr.decode())


def pins(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "constraints.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_a_known_vulnerability_fails_the_audit(tmp_path, osv):
    osv.advisories[("aiohttp", "3.9.0")] = [ADVISORY]
    done = await audit(pins(tmp_path, "aiohttp==3.9.0", "yarl==1.25.1"), osv.url)
    assert done.returncode == 1, done
    # One row: the package, its pinned version, the advisory (by its CVE alias), the fix.
    [row] = [line.split() for line in done.stdout.splitlines() if line.startswith("aiohttp")]
    assert row == ["aiohttp", "3.9.0", "CVE-2099-0001", "3.9.2"]
    assert sorted(osv.queries) == [("aiohttp", "3.9.0"), ("pip", "0"), ("yarl", "1.25.1")]


async def test_a_clean_audit_passes(tmp_path, osv):
    osv.advisories[("aiohttp", "3.9.0")] = [ADVISORY]
    done = await audit(pins(tmp_path, "aiohttp==3.14.5"), osv.url)
    assert done.returncode == 0, done
    assert "No known vulnerabilities found" in done.stderr


async def test_every_pin_of_constraints_txt_is_audited(osv):
    # pip-audit reads the real file: each pinned release is asked about, none is skipped.
    done = await audit(CONSTRAINTS, osv.url)
    assert done.returncode == 0, done
    asked = {name for name, _ in osv.queries}
    pinned = set()
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        requirement, _, marker = line.partition(";")
        if line.startswith("#") or (marker and not Marker(marker).evaluate()):
            continue  # a pin for another Python: audited by that Python's CI job
        pinned.add(canonicalize_name(requirement.split("==")[0].strip()))
    assert pinned - asked == set()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_an_unreachable_database_is_one_line_and_no_failure(tmp_path):
    url = f"http://127.0.0.1:{closed_port()}/v1/query"
    done = await audit(pins(tmp_path, "aiohttp==3.9.0"), url)
    assert done.returncode == 0, done
    [line] = done.stdout.splitlines()
    assert "out of reach" in line
    assert "NOT audited" in line
    assert done.stderr == ""


async def test_a_database_answering_with_an_error_fails_the_audit(tmp_path, osv):
    # Reached but failing is not "out of reach": the build must not pass unaudited.
    osv.status = 500
    done = await audit(pins(tmp_path, "aiohttp==3.14.5"), osv.url)
    assert done.returncode != 0, done
    assert "NOT audited" not in done.stdout
