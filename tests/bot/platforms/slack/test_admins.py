"""Who may change daily posts on Slack: `SlackAdmins` over the real slack_sdk client."""

from __future__ import annotations

from bot.platforms.slack.admins import SlackAdmins


async def test_admin_cache_expires(fake):
    fake.users["U1"] = {"is_admin": True}
    now = [0.0]
    admins = SlackAdmins(ttl=60, clock=lambda: now[0])

    assert await admins.is_admin(fake.web_client(), "U1", "T1")
    fake.users["U1"] = {"is_admin": False}
    assert await admins.is_admin(fake.web_client(), "U1", "T1")  # cached
    now[0] = 61.0
    assert not await admins.is_admin(fake.web_client(), "U1", "T1")


async def test_an_admin_of_another_workspace_is_not_ours(fake):
    # A Slack Connect user: an admin in their own organisation, a guest in ours.
    fake.users["UCONNECT"] = {"is_admin": True, "is_owner": True, "team_id": "T_OTHER"}
    fake.users["UOURS"] = {"is_admin": True}
    admins = SlackAdmins()

    assert not await admins.is_admin(fake.web_client(), "UCONNECT", "T1")
    assert await admins.is_admin(fake.web_client(), "UOURS", "T1")
    assert not await admins.is_admin(
        fake.web_client(), "UOURS", "T2"
    )  # the same user, asking from elsewhere


async def test_an_org_admin_of_the_same_enterprise_grid_counts(fake):
    grid = {"enterprise_id": "E1", "is_admin": True, "teams": ["T1", "T2"]}
    fake.users["UORG"] = {"is_admin": True, "team_id": "T2", "enterprise_user": grid}
    fake.users["UALIEN"] = {
        "is_admin": True,
        "team_id": "T9",
        "enterprise_user": {**grid, "enterprise_id": "E9"},
    }
    admins = SlackAdmins()

    assert await admins.is_admin(fake.web_client(), "UORG", "T1", "E1")
    assert not await admins.is_admin(
        fake.web_client(), "UORG", "T1"
    )  # no enterprise in the command
    assert not await admins.is_admin(fake.web_client(), "UALIEN", "T1", "E1")


async def test_a_yes_is_remembered_for_at_most_a_minute(fake):
    fake.users["U1"] = {"is_admin": True}
    now = [0.0]
    admins = SlackAdmins(clock=lambda: now[0])

    assert await admins.is_admin(fake.web_client(), "U1", "T1")
    fake.users["U1"] = {"is_admin": False}  # demoted
    now[0] = 59.0
    assert await admins.is_admin(fake.web_client(), "U1", "T1")  # still cached
    now[0] = 60.5
    assert not await admins.is_admin(fake.web_client(), "U1", "T1")
    assert len(fake.calls_to("users.info")) == 2
