"""Enterprise Grid callbacks of the emulator: workspaces taken out of an org-wide installation.

`take_out_of_org` is what an org admin does on Slack's side (the org token stops working in
those workspaces: ``team_access_not_granted``) and returns the ``team_access_revoked`` callback
Slack then sends, for the test to deliver, in the shape every callback has (the one Bolt
reads: ``event.type``). The wrapper names a workspace of the org with a non-enterprise
authorization, as the example in Slack's reference does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tests.fakes.slack.api import FakeSlack
from tests.fakes.slack.payloads import event_payload


def team_access_revoked_payload(
    enterprise_id: str,
    team_ids: Iterable[str],
    *,
    team_id: str,
    api_app_id: str,
    event_id: str = "EvTeamAccess",
) -> dict[str, Any]:
    """The ``team_access_revoked`` callback for ``team_ids`` of org ``enterprise_id``.

    ``team_id`` is the workspace the wrapper and its authorization name.
    """
    event: dict[str, Any] = {
        "type": "team_access_revoked",
        "team_ids": list(team_ids),
        "event_ts": "1700000000.000100",
    }
    authorization = {
        "enterprise_id": enterprise_id,
        "team_id": team_id,
        "is_bot": False,
        "is_enterprise_install": False,
    }
    payload = event_payload(event, event_id, team_id, api_app_id, [authorization])
    payload["enterprise_id"] = enterprise_id  # the wrapper names the org
    return payload


def take_out_of_org(
    fake: FakeSlack,
    enterprise_id: str,
    team_ids: Iterable[str],
    *,
    team_id: str,
    event_id: str = "EvTeamAccess",
) -> dict[str, Any]:
    """An org admin takes ``team_ids`` out of the org-wide installation; Slack's callback."""
    teams = list(team_ids)
    for team in teams:
        fake.revoke_team_access(enterprise_id, team)
    return team_access_revoked_payload(
        enterprise_id,
        teams,
        team_id=team_id,
        api_app_id=fake.app_id,
        event_id=event_id,
    )


def give_back_team_access(fake: FakeSlack, enterprise_id: str, team_id: str) -> None:
    """An org admin adds ``team_id`` to the org-wide installation again."""
    fake.enterprises[enterprise_id].not_granted.discard(team_id)
