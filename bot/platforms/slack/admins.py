"""`SlackAdmins`: who may change a channel's daily post.

Slack has no per-channel admin role a bot can read cheaply, so the rule is: user ids listed in
``slack.admins``, or the workspace's admins and owners according to ``users.info`` (asked
through `SlackUsers`, whose cache the Home tab shares).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.platforms.slack.users import USER_CACHE_SECONDS, SlackUser, SlackUsers
from bot.platforms.slack.web import error_code

log = logging.getLogger(__name__)

ADMIN_CACHE_SECONDS = USER_CACHE_SECONDS  # a demoted admin keeps the right at most this long


class SlackAdmins:
    """Who may change daily posts: ``slack.admins``, or admins and owners of the asking workspace.

    An admin counts only in the workspace that sent the command (or, on Enterprise Grid, in
    the command's organisation): a Slack Connect admin of another organisation shares our
    channels but is not ours. ``users.info`` answers are cached for a minute (`users`): a
    burst of `/maxim daily` commands costs one call, and a demoted admin loses the right soon
    after. `ttl` and `clock` make that cache when none is given.
    """

    def __init__(
        self,
        admins: tuple[str, ...] = (),
        *,
        users: SlackUsers | None = None,
        ttl: float = ADMIN_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.admins = frozenset(admins)
        self.users = users if users is not None else SlackUsers(ttl=ttl, clock=clock)

    async def is_admin(
        self, client: AsyncWebClient, user_id: str, team_id: str, enterprise_id: str = ""
    ) -> bool:
        """Whether `user_id` may change daily posts of workspace `team_id` (org `enterprise_id`).

        `client` carries the asking workspace's token (with OAuth, each workspace has its own).
        """
        if user_id in self.admins:
            return True
        try:
            user = await self.users.info(client, user_id, team_id)
        except SlackApiError as err:
            log.warning(
                "users.info failed (%s): %s is not treated as an admin", error_code(err), user_id
            )
            return False
        return user.is_admin and _belongs(user, team_id, enterprise_id)


def _belongs(user: SlackUser, team_id: str, enterprise_id: str) -> bool:
    """Whether `user` is a member of the asking workspace or Grid organisation."""
    if team_id and user.team_id == team_id:
        return True
    return bool(enterprise_id) and user.enterprise_id == enterprise_id
