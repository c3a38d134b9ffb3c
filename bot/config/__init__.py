"""Configuration: ``config.toml`` plus environment variables -> one frozen `Settings`.

Validation happens once, in ``maxim-bot`` (``bot.__main__``), never at import. Pydantic writes
the error messages; `ConfigError` turns the first one into a single line that names the key.
Secrets only ever come from the environment and are `SecretStr`, whose repr is ``'**********'``.

Inside: `settings` holds the keys and each one's own rule, `checks` every rule between keys
(what parses but could not run), `loading` reads and merges the sources and applies both.
"""

from bot.config.loading import find_config_file, load_settings
from bot.config.settings import (
    DEFAULT_CONFIG_FILE,
    LOOPBACK_HOSTS,
    PLATFORMS,
    SECRET_VARIABLES,
    URL_OVERRIDES,
    ClockTime,
    ConfigError,
    ConsoleConfig,
    DailyConfig,
    DiscordConfig,
    LogConfig,
    RuleConfig,
    ScheduleConfig,
    Secrets,
    Section,
    ServerConfig,
    Settings,
    SlackConfig,
    StatsConfig,
    StorageConfig,
    TimeZone,
    TriggersConfig,
    WebConfig,
    slack_mode,
    valid_timezone,
)

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "LOOPBACK_HOSTS",
    "PLATFORMS",
    "SECRET_VARIABLES",
    "URL_OVERRIDES",
    "ClockTime",
    "ConfigError",
    "ConsoleConfig",
    "DailyConfig",
    "DiscordConfig",
    "LogConfig",
    "RuleConfig",
    "ScheduleConfig",
    "Secrets",
    "Section",
    "ServerConfig",
    "Settings",
    "SlackConfig",
    "StatsConfig",
    "StorageConfig",
    "TimeZone",
    "TriggersConfig",
    "WebConfig",
    "find_config_file",
    "load_settings",
    "slack_mode",
    "valid_timezone",
]
