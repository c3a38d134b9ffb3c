"""``maxim-bot check-config --connect``: whether every configured part works with its secrets.

A valid file can still hold a revoked token or a database behind a firewall; this asks each
part the cheapest question that proves it works, without starting the bot: storage answers
``SELECT 1`` (without migrating it), Slack accepts the bot token (``auth.test``) and, for Socket
Mode, the app token (``apps.connections.open``), or with OAuth the client id and secret (a code
exchange that fails on the code, not on them), Discord accepts the token over REST (no
gateway). Each check reuses the start-up code's one-line explanation of what to fix.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.config.storage_key import storage_keys
from bot.platforms import StartupError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.config import Settings

TIMEOUT = 15.0  # seconds per part: a firewall that drops packets must not hang the check


class Misconfigured(StartupError):
    """A part cannot work as configured (a wrong key), not unreachable: exit 2, as at start."""


@dataclass(frozen=True)
class PartCheck:
    """One line of the report: a part, whether it works, and what we learned or what to fix."""

    part: str
    ok: bool
    detail: str
    exit_status: int = 1  # of check-config if this part failed: 2 for a config that cannot work

    def line(self) -> str:
        """``part: ok (detail)`` or ``part: FAILED: detail``."""
        return (
            f"{self.part}: ok ({self.detail})" if self.ok else f"{self.part}: FAILED: {self.detail}"
        )


async def check_storage(url: str, keys: tuple[str, ...] | None = None) -> str:
    """``SELECT 1`` on the configured database; its dialect.

    With `keys` (Slack OAuth: the database holds tokens), every stored token is decrypted
    once with them, as at start: a missing or wrong ``MAXIM_STORAGE_KEY`` fails the check.
    """
    import sqlalchemy as sa

    from bot.storage.backends import build_engine, normalise_url

    engine = build_engine(normalise_url(url))
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        tokens = "" if keys is None else await _check_tokens(engine, keys)
    except StartupError:
        raise
    except Exception as err:
        raise StartupError(
            f"cannot reach {normalise_url(url).render_as_string(hide_password=True)} "
            f"({type(err).__name__}): check storage.url and that the database runs"
        ) from None
    finally:
        await engine.dispose()
    return f"{engine.dialect.name} answers{tokens}"


async def _check_tokens(engine: AsyncEngine, keys: tuple[str, ...]) -> str:
    """``; N Slack token value(s) encrypted, M plain``, or `StartupError` naming the key."""
    from bot.storage.slack.sealed_tokens import check_stored_tokens
    from bot.storage.token_cipher import StorageKeyError, TokenCipher

    try:
        count = await check_stored_tokens(engine, TokenCipher(keys))
    except StorageKeyError as err:
        raise Misconfigured(str(err)) from None
    return f"; Slack token values: {count.encrypted} encrypted, {count.plain} plain"


async def check_slack(settings: Settings) -> str:
    """The bot token, and in Socket Mode the app token, as Slack sees them.

    Which secrets each mode needs was checked with the rest of the configuration
    (`bot.config.checks`); this asks Slack whether it accepts them.
    """
    from bot.platforms.slack.lifecycle import check_bot_token, open_socket_url
    from bot.platforms.slack.web import build_web_client

    secrets, api_url = settings.secrets, settings.slack.api_url
    client = build_web_client(settings.slack, secrets)
    if secrets.slack_client_id is not None and secrets.slack_client_secret is not None:
        from bot.platforms.slack.installs import check_oauth_credentials

        await check_oauth_credentials(
            client,
            secrets.slack_client_id.get_secret_value(),
            secrets.slack_client_secret.get_secret_value(),
            api_url,
        )
        return "OAuth client id and secret accepted; HTTP mode, many workspaces"
    identity = await check_bot_token(client, api_url)
    who = f"{identity.get('user', '?')} in {identity.get('team', '?')}"
    if settings.slack_mode == "http":
        return f"signed in as {who}; HTTP mode"
    if secrets.slack_app_token is None:
        raise StartupError("Slack: settings not validated: run maxim-bot check-config")
    await open_socket_url(client, secrets.slack_app_token.get_secret_value(), api_url)
    return f"signed in as {who}; Socket Mode URL granted"


async def check_discord(settings: Settings) -> str:
    """The token, by signing in over REST (the gateway is not opened)."""
    import discord

    from bot.platforms.discord.connection import configure_endpoints, sign_in

    token = settings.secrets.discord_token
    if token is None:  # only checked when set (`check_connections`)
        return "not configured"
    configure_endpoints(settings.discord)
    client = discord.Client(intents=discord.Intents.none())
    await sign_in(client, token.get_secret_value(), settings.discord.api_base)
    try:
        return f"signed in as {client.user}"
    finally:
        await client.close()


async def _run(part: str, check: Coroutine[Any, Any, str]) -> PartCheck:
    try:
        async with asyncio.timeout(TIMEOUT):
            detail = await check
    except StartupError as err:
        detail = str(err).removeprefix(f"{part.capitalize()}: ")
        return PartCheck(part, False, detail, 2 if isinstance(err, Misconfigured) else 1)
    except TimeoutError:
        return PartCheck(part, False, f"no answer within {TIMEOUT:.0f} s")
    return PartCheck(part, True, detail)


async def check_connections(settings: Settings) -> list[PartCheck]:
    """Every configured part, checked one after the other (the report keeps their order)."""
    secrets = settings.secrets
    keys = storage_keys(secrets.storage_key) if secrets.slack_oauth else None
    results = [await _run("storage", check_storage(settings.storage.url, keys))]
    if settings.slack_enabled:
        results.append(await _run("slack", check_slack(settings)))
    if settings.discord_enabled:
        results.append(await _run("discord", check_discord(settings)))
    return results
