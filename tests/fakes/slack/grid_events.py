"""Enterprise Grid callbacks of the emulator: workspaces taken out of an org-wide installation.

`take_out_of_org` is what an org admin does on Slack's side (the org token stops working in
those workspaces: ``team_access_not_granted``) and returns the ``team_access_revoked`` callback
Slack then sends, for the test to deliver. Slack's reference shows the event wrapped once more
(``event.event``, beside the org's id); ``nested=True`` builds that shape, the default the one
every other callback has. Either way the wrapper names a workspace of the org with a
non-enterprise authorization, as the reference's example does.
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
    nested: bool = False,
) -> dict[str, Any]:
    """The ``team_access_revoked`` callback for ``team_ids`` of org ``enterprise_id``.

    ``team_id`` is the workspace the wrapper and its authorization name.
    """
    event: dict[str, Any] = {
        "type": "team_access_revoked",
        "team_ids": list(team_ids),
        "event_ts": "1700000000.000100",
    }
    if nested:
        event = {
            "team_id": None,
            "enterprise_id": enterprise_id,
            "api_app_id": api_app_id,
            "event": event,
        }
    authorization = {
        "enterprise_id": enterprise_id,
        "team_id": team_id,
        "is_bot": False,
        "is_enterprise_install": False,
    }
    payload = event_payload(event, event_id, team_id, api_app_id, [authorization])
    if not nested:
        payload["enterprise_id"] = enterprise_id  # the wrapper may name the org too
    return payload


def take_out_of_org(
    fake: FakeSlack,
    enterprise_id: str,
    team_ids: Iterable[str],
    *,
    team_id: str,
    event_id: str = "EvTeamAccess",
    nested: bool = False,
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
        nested=nested,
    )


def give_back_team_access(fake: FakeSlack, enterprise_id: str, team_id: str) -> None:
    """An org admin adds ``team_id`` to the org-wide installation again."""
    fake.enterprises[enterprise_id].not_granted.discard(team_id)
