"""Syncing `/maxim` and `/maxim-daily` to Discord, only when they changed.

Discord rate-limits command syncs hard and a global sync takes up to an hour to show, so the
bot keeps a hash of the last synced payload per application and scope in storage and syncs at
start only when the hash differs. ``maxim-bot discord sync`` forces it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.platforms.discord import compat

if TYPE_CHECKING:
    from bot.platforms.discord.client import MaximClient
    from bot.storage import Storage

log = logging.getLogger(__name__)

COMMAND_META_KEY = "discord:commands:{application}:{scope}"


def _command_scopes(guild_ids: Sequence[int]) -> list[discord.Object | None]:
    return [discord.Object(g) for g in guild_ids] or [None]


def command_digest(tree: app_commands.CommandTree[Any], guild: discord.Object | None) -> str:
    """A hash of exactly what a sync to `guild` (None: global) would send."""
    if guild is not None:
        tree.copy_global_to(guild=guild)
    payload = compat.command_payloads(tree, guild)
    raw = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


async def sync_commands(
    client: MaximClient,
    storage: Storage,
    guild_ids: Sequence[int],
    *,
    force: bool = False,
) -> list[str]:
    """Sync the command tree to each guild of `guild_ids` (none: globally), where it changed.

    The hash of each scope's last synced payload is kept in storage, per application, so a
    restart does not sync again; `force` syncs anyway. Returns the scopes that were synced.
    Failures are logged and left for the next start unless `force` (then they raise).
    """
    synced: list[str] = []
    for guild in _command_scopes(guild_ids):
        scope = "global" if guild is None else str(guild.id)
        digest = command_digest(client.tree, guild)
        key = COMMAND_META_KEY.format(application=client.application_id, scope=scope)
        if not force and await storage.get_meta(key) == digest:
            log.debug("Discord commands for %s are up to date", scope)
            continue
        try:
            await client.tree.sync(guild=guild)
        except discord.RateLimited as limit:
            if force:
                raise
            log.warning(
                "Discord: syncing commands to %s is rate-limited for %.0f s; trying again at the "
                "next start",
                scope,
                limit.retry_after,
            )
            continue
        except discord.HTTPException as err:
            if force:
                raise
            log.warning(
                "Discord: syncing commands to %s failed (HTTP %d, code %d)%s; trying again at "
                "the next start",
                scope,
                err.status,
                err.code,
                ": invite the bot with the applications.commands scope (maxim-bot discord invite)"
                if err.status == 403
                else "",
            )
            continue
        await storage.set_meta(key, digest)
        log.info("Discord: synced slash commands to %s", scope if guild else "all servers")
        synced.append(scope)
    return synced
