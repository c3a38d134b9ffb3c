"""pyproject.toml's version ranges against constraints.txt and the known advisories.

The README's systemd install runs `pip install` without constraints.txt, so the lower bounds
in pyproject.toml are all that keeps it off a release with a known advisory.
"""

from __future__ import annotations

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.deploy.files import constraint_lines, declared_requirements

ADVISORY_FREE_FROM = {
    # 2026 advisories (request handling), fixed in 3.14.3 (issue #17, 2.13).
    "aiohttp": Version("3.14.3"),
    # CVE-2024-3772 (a ReDoS in email validation), fixed in 2.4.0.
    "pydantic": Version("2.4.0"),
    # CVE-2020-17446 (a crash on a malicious server's answer), fixed in 0.21.0.
    "asyncpg": Version("0.21.0"),
}
"""The first release of each dependency past its known advisories. `make audit` checks the
pinned versions against OSV where it can reach it; this keeps the lower bounds honest."""


def lower_bound(requirement: Requirement) -> Version | None:
    floors = [Version(s.version) for s in requirement.specifier if s.operator in (">=", "==", "~=")]
    return max(floors, default=None)


def test_every_dependency_has_a_lower_bound():
    missing = [str(r) for r in declared_requirements() if lower_bound(r) is None]
    assert missing == []


def test_no_lower_bound_allows_a_release_with_a_known_advisory():
    bounds = {canonicalize_name(r.name): lower_bound(r) for r in declared_requirements()}
    too_low = {
        name: f">={bounds[name]}, but releases before {safe} have known advisories"
        for name, safe in ADVISORY_FREE_FROM.items()
        if name in bounds and (bounds[name] or Version("0")) < safe
    }
    assert too_low == {}


def test_constraints_txt_pins_a_version_inside_every_declared_range():
    # The tested version must be one the systemd install may get, and the lower bound no
    # higher than what CI tested.
    pins = {canonicalize_name(r.name): r.specifier for r in constraint_lines() if not r.marker}
    outside = {}
    for requirement in declared_requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is declared in pyproject.toml but not pinned"
        [pin] = [spec.version for spec in pins[name]]
        if not requirement.specifier.contains(pin, prereleases=True):
            outside[name] = f"{pin} is outside {requirement.specifier}"
    assert outside == {}


def test_constraints_txt_pins_every_line_exactly():
    # pip-audit --no-deps (make audit) can only audit exact pins.
    loose = [str(r) for r in constraint_lines() if [s.operator for s in r.specifier] != ["=="]]
    assert loose == []
