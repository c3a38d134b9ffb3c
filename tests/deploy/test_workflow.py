"""The GitHub workflow: the Pythons it tests are the ones pyproject.toml promises, and its
actions are on majors that GitHub's runners still run.
"""

from __future__ import annotations

import re
from typing import Any

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.deploy.files import WORKFLOW, project, read_yaml

NODE24_MAJORS = {"actions/checkout": 5, "actions/setup-python": 6}
"""The first major of each action we use that runs on node24. GitHub removed node20, which
the majors before these run on, from its runners on 2026-09-23: an older major fails the
job. An action missing here fails the test until its node24 major is written down."""

PYTHON_CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)$")


def jobs() -> dict[str, Any]:
    found = read_yaml(WORKFLOW)["jobs"]
    assert isinstance(found, dict)
    return found


def matrix_pythons() -> list[Any]:
    """The python-version matrix, as YAML read it (one job has it)."""
    [versions] = [
        job["strategy"]["matrix"]["python-version"]
        for job in jobs().values()
        if "python-version" in job.get("strategy", {}).get("matrix", {})
    ]
    assert isinstance(versions, list)
    return versions


def classifier_pythons() -> list[str]:
    found = (PYTHON_CLASSIFIER.match(c) for c in project().get("classifiers", []))
    return [match.group(1) for match in found if match]


def step_uses() -> list[str]:
    return [step["uses"] for job in jobs().values() for step in job["steps"] if "uses" in step]


def test_the_matrix_tests_exactly_the_pythons_the_classifiers_name():
    assert matrix_pythons(), "no python-version matrix in the workflow"
    assert sorted(matrix_pythons(), key=Version) == sorted(classifier_pythons(), key=Version)


def test_the_oldest_python_tested_is_the_oldest_pyproject_allows():
    oldest = min(matrix_pythons(), key=Version)
    requires = SpecifierSet(project()["requires-python"])
    assert oldest in requires
    one_older = f"3.{Version(oldest).minor - 1}"
    assert one_older not in requires, f"requires-python allows {one_older}, which CI never tests"


def test_the_matrix_quotes_its_versions():
    # Unquoted, YAML reads 3.10 as the number 3.1: every entry must stay a string.
    assert all(isinstance(version, str) for version in matrix_pythons())


def test_every_action_runs_on_node24():
    actions = [uses for uses in step_uses() if not uses.startswith("docker://")]
    assert actions
    for uses in actions:
        name, _, ref = uses.partition("@")
        assert name in NODE24_MAJORS, f"{uses}: which major of {name} runs on node24?"
        major = re.fullmatch(r"v(\d+)(?:\.\d+)*", ref)
        assert major, f"{uses}: use a release tag (vN), not a branch"
        assert int(major.group(1)) >= NODE24_MAJORS[name], f"{uses} runs on node20"


def test_docker_steps_name_a_version():
    for uses in step_uses():
        if uses.startswith("docker://"):
            image, _, tag = uses.removeprefix("docker://").partition(":")
            assert re.fullmatch(r"\d+(\.\d+)+", tag), f"{uses}: pin {image} to a release"
