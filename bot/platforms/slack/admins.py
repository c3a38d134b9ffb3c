"""`SlackAdmins`: who may change a channel's daily post.

Slack has no per-channel admin role a bot can read cheaply, so the rule is: user ids listed in
``slack.admins``, or the workspace's admins and owners according to ``users.info``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.web import error_code

log = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = 300.0


class SlackAdmins:
    """Who may change daily posts: ``slack.admins``, or workspace admins and owners.

    ``users.info`` answers are cached for a few minutes: a burst of `/maxim daily` commands
    costs one call, and a demoted admin loses the right soon after.
    """

    def __init__(
        self,
        client: AsyncWebClient,
        admins: tuple[str, ...] = (),
        *,
        ttl: float = ADMIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.admins = frozenset(admins)
        self.ttl = ttl
        self.clock = clock
        self._cache: dict[str, tuple[bool, float]] = {}

    async def is_admin(self, user_id: str) -> bool:
        """Whether `user_id` may change this workspace's daily posts."""
        if user_id in self.admins:
            return True
        now = self.clock()
        cached = self._cache.get(user_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            response = await self.client.users_info(user=user_id)
        except SlackApiError as err:
            log.warning(
                "users.info failed (%s): %s is not treated as an admin", error_code(err), user_id
            )
            return False
        user = response.get("user") or {}
        verdict = bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))
        if len(self._cache) > 1000:
            self._cache = {k: v for k, v in self._cache.items() if v[1] > now}
        self._cache[user_id] = (verdict, now + self.ttl)
        return verdict
