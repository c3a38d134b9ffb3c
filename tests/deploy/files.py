"""Readers of the deployment files, so that tests take every value from the files themselves.

Nothing here duplicates what a deployment file says: the Dockerfile's `CMD`, its `ENV`, the
compose file's environment and mounts, the systemd unit's keys are all read from the files.
YAML is read with ruamel.yaml, which check-jsonschema (a test extra) depends on.
"""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from ruamel.yaml import YAML

from tests.helpers import ROOT

DOCKERFILE = ROOT / "Dockerfile"
COMPOSE_FILE = ROOT / "compose.yaml"
COMPOSE_CONFIG = ROOT / "deploy" / "compose.config.toml"
ENV_EXAMPLE = ROOT / ".env.example"
UNIT_FILE = ROOT / "deploy" / "systemd" / "maxim-bot.service"
UNIT_ENV_EXAMPLE = ROOT / "deploy" / "systemd" / "maxim-bot.env.example"
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
PYPROJECT = ROOT / "pyproject.toml"
CONSTRAINTS = ROOT / "constraints.txt"

BOT_SERVICE = "bot"
"""The compose service that runs the bot."""


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case) and the rest of its logical line."""

    keyword: str
    arguments: str

    def exec_form(self) -> list[str]:
        """The JSON array of a `CMD` (or a `HEALTHCHECK`'s `CMD`), which must be exec form."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text[text.index(" CMD ") + len(" CMD ") :]
        command = json.loads(text)
        assert isinstance(command, list), f"{self.keyword} is not in exec form: {text}"
        return [str(part) for part in command]


def dockerfile_stages(path: Path = DOCKERFILE) -> list[list[Instruction]]:
    """The instructions of each build stage, in order (line continuations joined)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1].strip() + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[list[Instruction]] = []
    for line in logical:
        keyword, _, arguments = line.partition(" ")
        instruction = Instruction(keyword.upper(), arguments.strip())
        if instruction.keyword == "FROM":
            stages.append([])
        assert stages, f"{path.name}: {keyword} before the first FROM"
        stages[-1].append(instruction)
    return stages


def final_stage(path: Path = DOCKERFILE) -> list[Instruction]:
    """The instructions of the image that ships: the last stage."""
    return dockerfile_stages(path)[-1]


def only(stage: list[Instruction], keyword: str) -> Instruction:
    """The last instruction `keyword` of `stage` (the one that counts, as for CMD and USER)."""
    found = [i for i in stage if i.keyword == keyword]
    assert found, f"no {keyword} in the final stage"
    return found[-1]


def image_env(stage: list[Instruction], base: dict[str, str]) -> dict[str, str]:
    """`base` with the stage's `ENV KEY=VALUE ...` applied, expanding `$NAME` as Docker does."""
    env = dict(base)
    for instruction in stage:
        if instruction.keyword != "ENV":
            continue
        for pair in shlex.split(instruction.arguments):
            key, sep, value = pair.partition("=")
            assert sep, f"ENV {pair}: use the KEY=VALUE form"
            env[key] = re.sub(r"\$\{?(\w+)\}?", lambda match: env.get(match.group(1), ""), value)
    return env


def read_yaml(path: Path) -> Any:
    """A YAML file as plain dicts and lists."""
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def bot_service() -> dict[str, Any]:
    """The bot's service in compose.yaml."""
    service = read_yaml(COMPOSE_FILE)["services"][BOT_SERVICE]
    assert isinstance(service, dict)
    return service


def compose_environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's `environment`, in either of the two forms compose allows."""
    environment = service.get("environment", {})
    if isinstance(environment, list):
        return dict(item.split("=", 1) for item in environment)
    return {key: str(value) for key, value in environment.items()}


def compose_mounts(service: dict[str, Any]) -> dict[str, str]:
    """A service's bind mounts in short syntax: container path -> host path (as written)."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        mounts[target] = source
    return mounts


def env_file_names(path: Path) -> list[str]:
    """The variable names an env file sets (comments and blank lines skipped)."""
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            names.append(line.split("=", 1)[0])
    return names


def read_unit(path: Path = UNIT_FILE) -> dict[str, list[tuple[str, str]]]:
    """A systemd unit file: section -> its (key, value) pairs, repeated keys kept in order.

    configparser would keep only the last of repeated keys (`SystemCallFilter=` twice is
    normal in a unit), so this reads the simple subset of the format units use.
    """
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, sep, value = line.partition("=")
        assert sep and current is not None, f"{path.name}:{number}: not KEY=VALUE in a section"
        assert not line.endswith("\\"), f"{path.name}:{number}: keep each key on one line"
        current.append((key.strip(), value.strip()))
    return sections


def unit_value(unit: dict[str, list[tuple[str, str]]], section: str, key: str) -> str:
    """The last value of `key` in `section` (what systemd uses for a single-valued key)."""
    values = [value for name, value in unit.get(section, []) if name == key]
    assert values, f"{UNIT_FILE.name}: no {key}= in [{section}]"
    return values[-1]


def seconds(text: str) -> float:
    """A duration as compose (`30s`, `1m30s`) or systemd (`30`, `30s`, `1min`) write it."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text.strip())
    assert parts and "".join(n + u for n, u in parts) == text.replace(" ", ""), text
    return sum(float(number) * units[unit] for number, unit in parts)


def project() -> dict[str, Any]:
    """The `[project]` table of pyproject.toml."""
    table = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    assert isinstance(table, dict)
    return table


def declared_requirements() -> list[Requirement]:
    """Every requirement pyproject.toml declares: the runtime ones and each extra's."""
    table = project()
    texts = list(table["dependencies"])
    for extra in table.get("optional-dependencies", {}).values():
        texts.extend(extra)
    return [Requirement(text) for text in texts]


def constraint_lines(path: Path = CONSTRAINTS) -> list[Requirement]:
    """The pins of constraints.txt (comments skipped), markers kept."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]
