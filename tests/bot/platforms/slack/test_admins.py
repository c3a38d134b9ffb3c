"""Who may change daily posts on Slack: `SlackAdmins` over the real slack_sdk client."""

from __future__ import annotations

from bot.platforms.slack.admins import SlackAdmins


async def test_admin_cache_expires(fake):
    fake.users["U1"] = {"is_admin": True}
    now = [0.0]
    admins = SlackAdmins(fake.web_client(), ttl=60, clock=lambda: now[0])

    assert await admins.is_admin("U1")
    fake.users["U1"] = {"is_admin": False}
    assert await admins.is_admin("U1")  # cached
    now[0] = 61.0
    assert not await admins.is_admin("U1")
