"""`SlackAdmins`: who may change a channel's daily post.

Slack has no per-channel admin role a bot can read cheaply, so the rule is: user ids listed in
``slack.admins``, or the workspace's admins and owners according to ``users.info``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.web import error_code

log = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 60.0  # a demoted admin keeps the right at most this long


class SlackAdmins:
    """Who may change daily posts: ``slack.admins``, or admins and owners of the asking workspace.

    An admin counts only in the workspace that sent the command (or, on Enterprise Grid, in
    the command's organisation): a Slack Connect admin of another organisation shares our
    channels but is not ours. ``users.info`` answers are cached for a minute: a burst of
    `/maxim daily` commands costs one call, and a demoted admin loses the right soon after.
    """

    def __init__(
        self,
        admins: tuple[str, ...] = (),
        *,
        ttl: float = ADMIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.admins = frozenset(admins)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[tuple[str, str, str], tuple[bool, float]] = {}

    async def is_admin(
        self, client: AsyncWebClient, user_id: str, team_id: str, enterprise_id: str = ""
    ) -> bool:
        """Whether `user_id` may change daily posts of workspace `team_id` (org `enterprise_id`).

        `client` carries the asking workspace's token (with OAuth, each workspace has its own).
        """
        if user_id in self.admins:
            return True
        key = (user_id, team_id, enterprise_id)
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as err:
            log.warning(
                "users.info failed (%s): %s is not treated as an admin", error_code(err), user_id
            )
            return False
        user = response.get("user") or {}
        verdict = _belongs(user, team_id, enterprise_id) and bool(
            user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")
        )
        if len(self._cache) > 1000:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
        self._cache[key] = (verdict, now + self.ttl)
        return verdict


def _belongs(user: dict[str, Any], team_id: str, enterprise_id: str) -> bool:
    """Whether a users.info `user` is a member of the asking workspace or Grid organisation."""
    if team_id and user.get("team_id") == team_id:
        return True
    grid = user.get("enterprise_user") or {}
    return bool(enterprise_id) and grid.get("enterprise_id") == enterprise_id
