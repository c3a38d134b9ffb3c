"""What parses but cannot work: every rule that `maxim-bot run` would otherwise meet at start.

`bot.config.loading.load_settings` calls `cross_check` once pydantic has accepted each key, so
`maxim-bot check-config` refuses exactly what `maxim-bot run` refuses, with the same one line.
Each rule lives here and nowhere else: the platforms' start-up code (Slack's and Discord's
lifecycles, the runner, `check-config --connect`) trusts validated settings instead of
repeating the rule. What only the network can tell (a revoked token, a taken port, a database
that is down) stays with the start-up code.

A problem is ``key: what is wrong and what to do``, where the key is a config key or the
environment variable to fix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config.settings import Settings

SIGNING_SECRET_PAGE = "Basic Information > App Credentials > Signing Secret"  # noqa: S105  # where to find it
WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # noqa: S104  # compared with, never bound


def cross_check(settings: Settings, *, needs_platform: bool = True) -> str | None:
    """The first problem of `settings` as ``key: message``, or None when all is well.

    Args:
        settings: settings whose every key is valid on its own.
        needs_platform: whether something must run (``run`` and ``check-config``); ``migrate``
            and ``discord invite`` work without any platform.

    """
    checks: list[Callable[[Settings], str | None]] = [
        _trigger_tags,
        _daily_channels,
        _blank_secrets,
        _oauth_problem,
        _slack_mode_problem,
        _port_clash,
        _web_problem,
        _storage_key,
    ]
    if needs_platform:
        checks.append(_no_platform)
    for check in checks:
        problem = check(settings)
        if problem is not None:
            return problem
    return None


def _storage_key(settings: Settings) -> str | None:
    from bot.config.storage_key import key_problem

    return key_problem(settings.secrets.storage_key)


def _trigger_tags(settings: Settings) -> str | None:
    from maxims import load_corpus
    from maxims.triggers import unknown_tags

    corpus = load_corpus()
    for n, rule in enumerate(settings.triggers.rules):
        unknown = unknown_tags(rule.tags, corpus)
        if unknown:
            known = sorted({tag for maxim in corpus for tag in maxim.tags})
            return (
                f"triggers.rules[{n}].tags: no maxim is tagged {', '.join(map(repr, unknown))}"
                f" (tags in use: {', '.join(known)})"
            )
    return None


def _daily_channels(settings: Settings) -> str | None:
    seen: dict[tuple[str, str], int] = {}
    for n, entry in enumerate(settings.daily):
        key = (entry.platform, entry.channel)  # storage's key for a subscription
        if key in seen:
            return (
                f"daily[{n}].channel: {entry.channel!r} on {entry.platform} already has a "
                f"daily post (daily[{seen[key]}]): one entry per channel"
            )
        seen[key] = n
    return None


def _blank_secrets(settings: Settings) -> str | None:
    """A secret of only spaces turns its platform on, yet no service would accept it."""
    for field, value in settings.secrets:
        if value is not None and not value.get_secret_value().strip():
            variable = field.upper()  # each secret's variable (`bot.config.SECRET_VARIABLES`)
            return f"{variable}: it is blank (only spaces): set it to the real value, or unset it"
    return None


def _oauth_problem(settings: Settings) -> str | None:
    """What keeps Slack OAuth (many workspaces) from working."""
    secrets = settings.secrets
    if (secrets.slack_client_id is None) != (secrets.slack_client_secret is None):
        return (
            "SLACK_CLIENT_ID, SLACK_CLIENT_SECRET: Slack OAuth needs both (the app's Basic "
            "Information page has them)"
        )
    if not secrets.slack_oauth:
        return None
    if secrets.slack_bot_token is not None:
        return (
            "SLACK_BOT_TOKEN: set it for one workspace, or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET for many (OAuth), not both"
        )
    if settings.slack.mode == "socket":
        return (
            "slack.mode: OAuth needs HTTP mode (a public URL for Slack to send people to); "
            'set slack.mode = "http" or leave it out'
        )
    return None


def _slack_mode_problem(settings: Settings) -> str | None:
    """HTTP mode checks each request's signature; Socket Mode signs in with an app token."""
    secrets = settings.secrets
    if not settings.slack_enabled:
        return None
    if settings.slack_mode == "http" and secrets.slack_signing_secret is None:
        if secrets.slack_oauth:
            return (
                "SLACK_SIGNING_SECRET: Slack OAuth runs in HTTP mode, which needs it "
                f"({SIGNING_SECRET_PAGE})"
            )
        return (
            f"SLACK_SIGNING_SECRET: Slack HTTP mode needs it ({SIGNING_SECRET_PAGE}), or set "
            "SLACK_APP_TOKEN to use Socket Mode"
        )
    if settings.slack_mode == "socket" and secrets.slack_app_token is None:
        return (
            "SLACK_APP_TOKEN: Slack Socket Mode needs it (an xapp- app-level token with "
            'connections:write), or set slack.mode = "http" with SLACK_SIGNING_SECRET'
        )
    return None


def _port_clash(settings: Settings) -> str | None:
    """The probe server, Slack's HTTP server and the pages each need a port of their own."""
    server, slack, web = settings.server, settings.slack, settings.web
    listeners = []  # (key of the port, host, port), in the order a clash names them
    if web.enabled:
        listeners.append(("web.port", web.host, web.port))
    if server.enabled:
        listeners.append(("server.port", server.host, server.port))
    if settings.slack_enabled and settings.slack_mode == "http":
        listeners.append(("slack.http_port", slack.http_host, slack.http_port))
    for n, (key, host, port) in enumerate(listeners):
        for other, other_host, other_port in listeners[n + 1 :]:
            if port != 0 and port == other_port and _same_address(host, other_host):
                return (
                    f"{key}: {port} is {other} too, on the same address: give "
                    f"{_LISTENER[key]} a port of its own"
                )
    return None


_LISTENER = {"web.port": "the pages", "server.port": "the probe server"}


def _same_address(host: str, other: str) -> bool:
    return host == other or host in WILDCARD_HOSTS or other in WILDCARD_HOSTS


def _web_problem(settings: Settings) -> str | None:
    """The pages need the address people reach them at: every absolute link is built on it."""
    if settings.web.enabled and settings.web.public_url is None:
        return (
            "web.public_url: the pages need the https address people reach them at, "
            "like 'https://maxims.example.org'"
        )
    return None


def _no_platform(settings: Settings) -> str | None:
    # The pages alone are something to run: a landing page before any platform is set up.
    if settings.platforms or settings.web.enabled:
        return None
    return (
        "console.enabled: the console is off and no platform has a token, so nothing would "
        "run: set SLACK_BOT_TOKEN (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) or "
        "DISCORD_TOKEN, enable [console], or serve the pages ([web] enabled = true)"
    )
