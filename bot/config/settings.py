"""The settings themselves: each key, its type and its own rule, as frozen pydantic models.

Validation happens once, in ``maxim-bot`` (``bot.__main__``), never at import. Pydantic writes
the error messages; `ConfigError` turns the first one into a single line that names the key.
Secrets only ever come from the environment and are `SecretStr`, whose repr is ``'**********'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from maxims.query import parse_clock
from maxims.weekdays import DAYS_HINT, DaysError, parse_days

DEFAULT_CONFIG_FILE = "config.toml"
PLATFORMS = ("console", "slack", "discord")


class ConfigError(Exception):
    """A configuration problem, as one line naming the key and what is wrong."""


def _check_zone(name: str) -> str:
    if not valid_timezone(name):
        raise ValueError(f"unknown time zone {name!r}: use an IANA name like 'Europe/Berlin'")
    return name


def valid_timezone(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows."""
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _check_clock(text: str) -> str:
    if parse_clock(text) is None:
        raise ValueError(f"{text!r} is not a time: use HH:MM on a 24-hour clock, like '09:00'")
    return text


def _check_days(text: str) -> str:
    try:
        parse_days(text)
    except DaysError as err:
        raise ValueError(f"{err.word!r} is not a day: {DAYS_HINT}, like 'mon-fri'") from None
    return text


def _check_pattern(pattern: str) -> str:
    """A trigger pattern must run on RE2 (linear time): a backtracking one could stall the bot."""
    from maxims.triggers import check_pattern

    problem = check_pattern(pattern)
    if problem is not None:
        raise ValueError(problem)
    return pattern


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def _secure_url(*schemes: str) -> Callable[[str], str]:
    """A check that a URL the bot sends tokens to uses `schemes` (TLS), unless on loopback.

    Plain ``http://``/``ws://`` would put the bot token on the wire in clear text; loopback is
    allowed for local proxies and the tests' emulators.
    """

    def check(url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme in schemes and parts.hostname:
            return url
        if parts.scheme in ("http", "ws") and _is_loopback(parts.hostname or ""):
            return url
        raise ValueError(
            f"{url!r} must start with {schemes[0]}:// (plain http is allowed only on loopback)"
        )

    return check


TimeZone = Annotated[str, AfterValidator(_check_zone)]
ClockTime = Annotated[str, AfterValidator(_check_clock)]
Days = Annotated[str, AfterValidator(_check_days)]


class Section(BaseModel):
    """Base of every section: frozen, and unknown keys are errors (they are usually typos)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class RuleConfig(Section):
    """One ``[[triggers.rules]]`` entry."""

    name: str = Field(min_length=1)
    pattern: Annotated[str, AfterValidator(_check_pattern)] = Field(min_length=1)
    tags: tuple[str, ...] = Field(min_length=1)
    cooldown_seconds: float | None = Field(default=None, ge=0)
    enabled: bool = True


class TriggersConfig(Section):
    """``[triggers]``: the NaN rule and extra rules, with a per-channel cooldown."""

    nan: bool = True
    cooldown_seconds: float = Field(default=600, ge=0)
    rules: tuple[RuleConfig, ...] = ()


class DailyConfig(Section):
    """One ``[[daily]]`` entry: a channel that gets the maxim of the day."""

    platform: Literal["console", "slack", "discord"]
    channel: str = Field(min_length=1)
    time: ClockTime = "09:00"
    timezone: TimeZone = "UTC"
    workspace: str = ""
    style: Literal["text", "card"] = "text"  # the maxim as a message, or as a card (a picture)
    days: Days = "every day"  # the local days it posts on: "mon-fri", "mon,wed,fri", "weekdays"
    thread: bool = False  # open a thread on each post to talk about it (Discord) / invite replies


class ScheduleConfig(Section):
    """``[schedule]``: how daily posts are delivered."""

    catch_up_minutes: float = Field(default=120, ge=0)
    max_concurrent_posts: int = Field(default=8, ge=1, le=256)
    # Slack takes about one message a second per channel and a few a second per workspace:
    # more posts in flight to one workspace only buy 429s, and at half the process's posts a
    # big workspace's minute always leaves slots for the others (`bot.daily.pacing`).
    max_concurrent_per_workspace: int = Field(default=4, ge=1, le=256)
    claim_timeout_seconds: float = Field(default=300, gt=0)
    retry_limit: int = Field(default=5, ge=0)
    # Deploys stop the bot mid fan-out: posts already sent get this long to finish.
    stop_grace_seconds: float = Field(default=10, ge=0, le=300)
    # A process silent for three beats is dead, and its claims are taken over at once.
    heartbeat_seconds: float = Field(default=5, gt=0, le=60)
    # How often each process looks for posts due but not sent: missed while the bot or the
    # database was down, failed ones due for a retry, claims of a dead process.
    sweep_seconds: float = Field(default=60, ge=1, le=3600)


class StorageConfig(Section):
    """``[storage]``: where state lives."""

    url: str = "sqlite+aiosqlite:///maxim-bot.db"
    # At start the database may not be up yet (compose, a reboot): keep trying this long.
    connect_timeout_seconds: float = Field(default=60, gt=0, le=3600)
    # While running, a connect or statement waits at most this long, so an answer that reads
    # storage (`/maxim today`) falls back in time for Slack's 3 s acknowledgement.
    query_timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    # Daily-post records older than this many days are pruned (the sweep reads two days).
    keep_days: int = Field(default=400, ge=2)

    @field_validator("url")
    @classmethod
    def _known_driver(cls, url: str) -> str:
        if not url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "use 'sqlite+aiosqlite:///FILE' or 'postgresql+asyncpg://USER@HOST/DB'"
            )
        return _check_database_url(url)


def _check_database_url(url: str) -> str:
    """`url` as SQLAlchemy (which `run` opens it with) reads it, with a port a socket can use.

    SQLAlchemy takes any number as a port, so asyncpg would only fail at connect time.
    """
    from sqlalchemy.engine import make_url  # the parser storage itself uses, loaded only here
    from sqlalchemy.exc import ArgumentError

    try:
        port = make_url(url).port
    except ValueError:  # int() of what follows the host's colon
        raise ValueError(
            "its port is not a number: use 'postgresql+asyncpg://USER@HOST:5432/DB'"
        ) from None
    except ArgumentError:
        raise ValueError("SQLAlchemy cannot read it as a database URL") from None
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range: use 1..65535 (PostgreSQL listens on 5432)")
    return url


class StatsConfig(Section):
    """``[stats]``: counting the maxims served per workspace (counts, never people)."""

    enabled: bool = True


class ConsoleConfig(Section):
    """``[console]``: the terminal chat."""

    enabled: bool | Literal["auto"] = "auto"
    channel: str = "console"
    user: str = "you"


class SlackConfig(Section):
    """``[slack]``: started when ``SLACK_BOT_TOKEN`` is set, or OAuth's client id and secret."""

    mode: Literal["socket", "http"] | None = None
    redirect_uri: Annotated[str, AfterValidator(_secure_url("https"))] | None = None
    api_url: Annotated[str, AfterValidator(_secure_url("https"))] = "https://slack.com/api/"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=3000, ge=0, le=65535)
    preview: bool = True
    admins: tuple[str, ...] = ()
    reaction: str = ""


class DiscordConfig(Section):
    """``[discord]``: started when ``DISCORD_TOKEN`` is set."""

    api_base: Annotated[str, AfterValidator(_secure_url("https"))] = "https://discord.com/api/v10"
    gateway_url: Annotated[str, AfterValidator(_secure_url("wss"))] = "wss://gateway.discord.gg/"
    guild_ids: tuple[int, ...] = ()
    # The application id (public: it is in every invite link): the pages' "Add to Discord".
    client_id: int | None = Field(default=None, ge=1)
    preview: bool = True
    reaction: str = ""
    message_content: bool = True
    shards: Literal["auto"] | None = None
    shard_ids: tuple[int, ...] | None = None
    shard_count: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _shards_fit(self) -> DiscordConfig:
        if self.shard_ids is not None:
            if self.shard_count is None:
                raise ValueError("shard_ids needs shard_count")
            bad = [i for i in self.shard_ids if not 0 <= i < self.shard_count]
            if bad:
                raise ValueError(f"shard_ids {bad} are outside 0..{self.shard_count - 1}")
        return self


class ServerConfig(Section):
    """``[server]``: the probe server; its connection cap and timeouts also bind Slack HTTP."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    max_connections: int = Field(default=256, ge=1, le=100_000)
    idle_timeout_seconds: float = Field(default=75, gt=0, le=3600)
    header_timeout_seconds: float = Field(default=10, gt=0, le=300)
    body_timeout_seconds: float = Field(default=10, gt=0, le=300)


def _check_public_url(url: str) -> str:
    """The address people reach the pages at: https, or http on loopback; no query or fragment.

    Every absolute link, ``og:url`` and ``og:image`` is built on it, so it is kept without a
    trailing slash.
    """
    _secure_url("https")(url)
    parts = urlsplit(url)
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r} must be a plain address, without ?query or #fragment")
    return url.rstrip("/")


class WebConfig(Section):
    """``[web]``: the public pages: landing, a page per maxim, its card, privacy and support."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    public_url: Annotated[str, AfterValidator(_check_public_url)] | None = None
    support_url: Annotated[str, AfterValidator(_secure_url("https"))] | None = None
    contact: str | None = Field(default=None, min_length=1, max_length=200)


class LogConfig(Section):
    """``[log]``: `format` is ``text`` for people, ``json`` (one object a line) for collectors."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class Secrets(Section):
    """Tokens, from the environment only; their repr never shows the value."""

    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_client_id: SecretStr | None = None
    slack_client_secret: SecretStr | None = None
    discord_token: SecretStr | None = None
    storage_key: SecretStr | None = None  # Fernet keys: see bot.config.storage_key

    @property
    def slack_oauth(self) -> bool:
        """Many workspaces through OAuth: the app's client id and secret are both set."""
        return self.slack_client_id is not None and self.slack_client_secret is not None


def slack_mode(slack: SlackConfig, secrets: Secrets) -> Literal["socket", "http"]:
    """Socket Mode when chosen, or by default when an app-level token is present.

    OAuth is always HTTP mode: Slack sends each installing browser to a public URL.
    """
    if slack.mode is not None:
        return slack.mode
    if secrets.slack_oauth:
        return "http"
    return "socket" if secrets.slack_app_token is not None else "http"


class Settings(Section):
    """Everything the bot needs to start, validated."""

    triggers: TriggersConfig = TriggersConfig()
    daily: tuple[DailyConfig, ...] = ()
    schedule: ScheduleConfig = ScheduleConfig()
    storage: StorageConfig = StorageConfig()
    stats: StatsConfig = StatsConfig()
    console: ConsoleConfig = ConsoleConfig()
    slack: SlackConfig = SlackConfig()
    discord: DiscordConfig = DiscordConfig()
    log: LogConfig = LogConfig()
    server: ServerConfig = ServerConfig()
    web: WebConfig = WebConfig()
    secrets: Secrets = Secrets()
    source: str = "defaults"

    @property
    def slack_enabled(self) -> bool:
        """Slack starts with a bot token (one workspace) or OAuth credentials (many)."""
        return self.secrets.slack_bot_token is not None or self.secrets.slack_oauth

    @property
    def discord_enabled(self) -> bool:
        """Discord starts when it has a token."""
        return self.secrets.discord_token is not None

    @property
    def console_enabled(self) -> bool:
        """The console starts when asked to, or by default when no other platform runs."""
        if self.console.enabled == "auto":
            return not (self.slack_enabled or self.discord_enabled)
        return bool(self.console.enabled)

    @property
    def slack_mode(self) -> Literal["socket", "http"]:
        """Socket Mode when chosen, or by default when an app-level token is present."""
        return slack_mode(self.slack, self.secrets)

    @property
    def platforms(self) -> tuple[str, ...]:
        """The platforms that will start, in a stable order."""
        enabled = (self.console_enabled, self.slack_enabled, self.discord_enabled)
        return tuple(p for p, on in zip(PLATFORMS, enabled, strict=True) if on)


SECRET_VARIABLES = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "discord_token": "DISCORD_TOKEN",
    "storage_key": "MAXIM_STORAGE_KEY",
}
# Environment variables that override one config key each (for proxies and the tests' emulators).
URL_OVERRIDES = {
    "SLACK_API_URL": ("slack", "api_url"),
    "DISCORD_API_BASE": ("discord", "api_base"),
    "DISCORD_GATEWAY_URL": ("discord", "gateway_url"),
}
