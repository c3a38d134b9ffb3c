"""Reading the configuration: the TOML file, the environment and the command line, merged.

`load_settings` validates each key (`bot.config.settings`) and then every rule between keys
(`bot.config.checks`), so `maxim-bot check-config` refuses exactly what `run` would.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config.checks import cross_check
from bot.config.settings import (
    DEFAULT_CONFIG_FILE,
    SECRET_VARIABLES,
    URL_OVERRIDES,
    ConfigError,
    Settings,
)


def find_config_file(explicit: str | None, env: Mapping[str, str]) -> Path | None:
    """``-c PATH``, else ``MAXIM_BOT_CONFIG``, else ``./config.toml`` if present, else None."""
    if explicit:
        return Path(explicit)
    if env.get("MAXIM_BOT_CONFIG"):
        return Path(env["MAXIM_BOT_CONFIG"])
    default = Path(DEFAULT_CONFIG_FILE)
    return default if default.is_file() else None


def _describe(err: ValidationError, source: str) -> str:
    first = err.errors()[0]
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    key = key or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against config.example.toml)"
    more = len(err.errors()) - 1
    tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return f"{source}: {key}: {message}{tail}"


def load_settings(
    path: Path | None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    needs_platform: bool = True,
) -> Settings:
    """Read, merge and validate configuration, with every rule `maxim-bot run` has at start.

    Args:
        path: the TOML file, or None for defaults only.
        env: the environment (secrets and URL overrides); defaults to ``os.environ``.
        overrides: extra top-level values from the command line, applied last.
        needs_platform: refuse settings that start no platform (False for ``migrate``).

    Raises:
        ConfigError: one line that names the file, the key and what is wrong.

    """
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{source}: no such file") from None
        except (OSError, UnicodeDecodeError) as err:
            raise ConfigError(f"{source}: cannot read it ({err.__class__.__name__})") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"{source}: not valid TOML ({err})") from None
    for variable, (section, key) in URL_OVERRIDES.items():
        if env.get(variable):
            table = data.setdefault(section, {})
            if isinstance(table, dict):
                table[key] = env[variable]
    data.update(overrides or {})
    data["secrets"] = {
        field: env[variable] for field, variable in SECRET_VARIABLES.items() if env.get(variable)
    }
    data["source"] = source
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None
    problem = cross_check(settings, needs_platform=needs_platform)
    if problem is not None:
        raise ConfigError(f"{source}: {problem}")
    return settings
