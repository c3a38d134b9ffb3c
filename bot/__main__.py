"""``maxim-bot``: run the bot, check its configuration, or set up Discord.

This is the only module that reads the environment and sets up logging. Configuration is
validated here, once; a bad file exits 2 with one line that names the key.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from bot.config import ConfigError, Settings, find_config_file, load_settings
from bot.config.storage_key import storage_keys
from bot.log import setup_logging

log = logging.getLogger("bot")


def build_parser() -> argparse.ArgumentParser:
    """The command-line grammar."""
    parser = argparse.ArgumentParser(
        prog="maxim-bot",
        description="A Slack and Discord bot for The Seventy Maxims of Effective ML Engineers.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add_config(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "-c",
            "--config",
            metavar="PATH",
            help="config file (default: $MAXIM_BOT_CONFIG, else ./config.toml if present)",
        )

    run = sub.add_parser("run", help="start the bot (the console chat when no tokens are set)")
    add_config(run)
    run.add_argument("--daily-at", metavar="HH:MM", help="post a daily post to the console")
    run.add_argument("--tz", metavar="AREA/CITY", help="time zone of --daily-at (default UTC)")
    check = sub.add_parser("check-config", help="validate the configuration and summarise it")
    add_config(check)
    check.add_argument(
        "--connect", action="store_true", help="also check that storage and each token work"
    )
    migrate = sub.add_parser("migrate", help="upgrade the database schema and exit")
    add_config(migrate)
    migrate.add_argument(
        "--rotate-key",
        action="store_true",
        help="also encrypt every stored token with the first key of MAXIM_STORAGE_KEY",
    )
    discord_parser = sub.add_parser(
        "discord", help="Discord set-up: sync slash commands, invite URL"
    )
    actions = discord_parser.add_subparsers(dest="discord_command", required=True, metavar="ACTION")
    sync = actions.add_parser(
        "sync",
        help="push /maxim and /maxim-daily to Discord now (to --guild, else discord.guild_ids, "
        "else globally)",
    )
    add_config(sync)
    sync.add_argument("--guild", type=int, metavar="ID", help="sync to this server only")
    invite = actions.add_parser("invite", help="print the URL that adds the bot to a server")
    add_config(invite)
    invite.add_argument(
        "--client-id",
        type=int,
        metavar="ID",
        help="the application id (default: discord.client_id, else asked from Discord with "
        "DISCORD_TOKEN)",
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    path = find_config_file(args.config, os.environ)
    # `check-config` refuses all that `run` would; `migrate` and `discord` need no platform.
    needs_platform = args.command in ("run", "check-config")
    if getattr(args, "daily_at", None) or getattr(args, "tz", None):
        base = load_settings(path)
        entry = {
            "platform": "console",
            "channel": base.console.channel,
            "time": args.daily_at or "09:00",
            "timezone": args.tz or "UTC",
        }
        overrides["daily"] = [d.model_dump() for d in base.daily] + [entry]
    return load_settings(path, overrides=overrides, needs_platform=needs_platform)


def _secret_values(settings: Settings) -> list[str]:
    fields = settings.secrets
    values = [
        fields.slack_bot_token,
        fields.slack_app_token,
        fields.slack_signing_secret,
        fields.slack_client_id,
        fields.slack_client_secret,
        fields.discord_token,
        fields.storage_key,
    ]
    found = [v.get_secret_value() for v in values if v is not None]
    found += storage_keys(fields.storage_key)
    password = urlsplit(settings.storage.url).password
    return [*found, password] if password else found


async def _run(settings: Settings) -> int:
    from bot.open_files import raise_open_file_limit
    from bot.runner import run_bot

    raise_open_file_limit()  # every connection holds a descriptor: as many as allowed

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    return await run_bot(settings, stop=stop)


async def _discord_sync(settings: Settings, guild: int | None) -> list[str]:
    from bot.bootstrap import open_service
    from bot.platforms.discord.cli import sync_commands_now

    async with open_service(settings) as (service, storage):
        return await sync_commands_now(settings, service, storage, guild)


def _discord(args: argparse.Namespace, settings: Settings) -> int:
    from bot.platforms import StartupError
    from bot.platforms.discord.cli import invite_url  # discord.py loads here only
    from bot.storage import StorageOpenError

    try:
        if args.discord_command == "invite":
            print(asyncio.run(invite_url(settings, args.client_id)))
        else:
            for line in asyncio.run(_discord_sync(settings, args.guild)):
                print(line)
    except StartupError as err:
        print(f"maxim-bot: {err}", file=sys.stderr)
        return 2
    except StorageOpenError as err:
        print(f"maxim-bot: {err}", file=sys.stderr)
        return err.exit_status
    return 0


def _connect(settings: Settings) -> int:
    from bot.reachability import check_connections

    results = asyncio.run(check_connections(settings))
    for result in results:
        print(result.line())
    return max((r.exit_status for r in results if not r.ok), default=0)


def _migrate(settings: Settings, *, rotate_key: bool) -> int:
    from bot.storage.schema import migrate

    keys = storage_keys(settings.secrets.storage_key)
    if rotate_key and not keys:
        print(
            "maxim-bot: --rotate-key needs MAXIM_STORAGE_KEY (the new key first, then the old)",
            file=sys.stderr,
        )
        return 2
    try:
        asyncio.run(migrate(settings.storage.url))
    except Exception:
        log.exception("migrating the database failed")
        return 1
    print(f"storage: schema up to date ({settings.storage.url.split('://')[0]})")
    return _rotate_key(settings.storage.url, keys) if rotate_key else 0


def _rotate_key(url: str, keys: tuple[str, ...]) -> int:
    """Encrypt every stored token with the first key; exit 2 if one cannot be decrypted."""
    from bot.storage.backends import build_engine, normalise_url
    from bot.storage.slack.sealed_tokens import reseal_stored_tokens
    from bot.storage.token_cipher import StorageKeyError, TokenCipher

    async def rotate() -> int:
        engine = build_engine(normalise_url(url))
        try:
            return await reseal_stored_tokens(engine, TokenCipher(keys))
        finally:
            await engine.dispose()

    try:
        count = asyncio.run(rotate())
    except StorageKeyError as err:
        print(f"maxim-bot: {err}", file=sys.stderr)
        return 2
    except Exception:
        log.exception("encrypting the stored tokens failed")
        return 1
    print(f"storage: {count} token value(s) encrypted with the first key of MAXIM_STORAGE_KEY")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``maxim-bot``."""
    try:
        return _main(argv)
    except BrokenPipeError:  # `maxim-bot check-config | head -1`
        sys.stderr.close()
        return 0


def _main(argv: Sequence[str] | None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except ConfigError as err:
        print(f"maxim-bot: {err}", file=sys.stderr)
        return 2
    setup_logging(settings.log.level, _secret_values(settings), settings.log.format)
    if args.command == "check-config":
        print(f"configuration OK ({settings.source})")
        print(f"platforms: {', '.join(settings.platforms) or 'none'}")
        print(f"storage: {settings.storage.url.split('://')[0]}")
        print(f"daily posts from config: {len(settings.daily)}")
        if settings.web.enabled:
            web = settings.web
            print(f"web pages: {web.public_url} (listening on {web.host}:{web.port})")
        return _connect(settings) if args.connect else 0
    if args.command == "migrate":
        return _migrate(settings, rotate_key=args.rotate_key)
    if args.command == "discord":
        return _discord(args, settings)
    log.info(
        "starting maxim-bot (%s); platforms: %s",
        settings.source,
        ", ".join(settings.platforms) or "none",
    )
    if settings.platforms == ("console",):
        log.info("no Slack or Discord token set: running the console chat")
    if settings.console_enabled and sys.stdin.isatty() and settings.log.level == "INFO":
        # In a terminal the log shares the screen with the chat: keep the chat readable.
        logging.getLogger("bot.chat").setLevel(logging.WARNING)
    from bot.storage import StorageOpenError  # loads the database drivers: only to run

    try:
        return asyncio.run(_run(settings))
    except KeyboardInterrupt:
        return 0
    except StorageOpenError as err:  # already one line: where, why, and for how long
        log.error("%s", err)
        return err.exit_status


if __name__ == "__main__":
    sys.exit(main())
