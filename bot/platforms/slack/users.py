"""`SlackUsers`: who a person is according to ``users.info``, remembered for a minute.

The admin check (`bot.platforms.slack.admins`) and the Home tab (`bot.platforms.slack.home`,
for the person's time zone) both ask. Each open of the Home tab used to cost a call: a
workspace of thousands opening it at nine o'clock spends its Web API budget (users.info is a
Tier 4 method, per workspace) on answers that change rarely. The cache is one per app, shared
by both, bounded in size and age: a demoted admin or a new time zone counts within `ttl`.
Only the few facts the bot reads are kept, not the whole profile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachetools import TTLCache
from slack_sdk.web.async_client import AsyncWebClient

USER_CACHE_SECONDS = 60.0  # a demoted admin keeps the right, a moved person the zone, this long
USER_CACHE_SIZE = 10_000  # people remembered (about 500 bytes each); the least recent go first


@dataclass(frozen=True, slots=True)
class SlackUser:
    """What the bot reads of a ``users.info`` user."""

    team_id: str  # the person's own workspace
    enterprise_id: str  # their Enterprise Grid organisation, "" outside one
    is_admin: bool  # admin, owner or primary owner of `team_id` (or of the organisation)
    tz: str  # IANA zone name, "" when Slack has none


def _facts(user: dict[str, Any]) -> SlackUser:
    grid = user.get("enterprise_user") or {}
    return SlackUser(
        team_id=str(user.get("team_id") or ""),
        enterprise_id=str(grid.get("enterprise_id") or ""),
        is_admin=bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner")),
        tz=str(user.get("tz") or ""),
    )


class SlackUsers:
    """``users.info`` answers by (workspace, user), each kept at most `ttl` seconds.

    Failures are not remembered: the caller decides what a failed lookup means (not an
    admin; the Home tab in UTC), and the next request asks again.
    """

    def __init__(
        self,
        *,
        ttl: float = USER_CACHE_SECONDS,
        size: int = USER_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache: TTLCache[tuple[str, str], SlackUser] = TTLCache(size, ttl, timer=clock)

    async def info(self, client: AsyncWebClient, user_id: str, team_id: str) -> SlackUser:
        """Who `user_id` is, asked of workspace `team_id` (whose token `client` carries).

        Raises:
            slack_sdk.errors.SlackApiError: Slack refused (not remembered).

        """
        key = (team_id, user_id)
        found = self._cache.get(key)
        if found is None:
            response = await client.users_info(user=user_id)
            found = self._cache[key] = _facts(response.get("user") or {})
        return found
