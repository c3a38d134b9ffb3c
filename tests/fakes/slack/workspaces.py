"""The workspaces the emulator serves and the tokens it issued for them.

Why this exists: a distributed Slack app holds one bot token per workspace, and every Web API
call answers as the workspace its token belongs to.  `FakeSlack` keeps a `Workspace` per team
and a `TokenRegistry` mapping every token it ever issued (the constructor's, and those
`oauth.v2.access` hands out) to its workspace, kind, expiry and revocation, so a test can
assert that the bot used *the right workspace's* token, and that expired or revoked tokens
fail the way Slack's do (``token_expired``, ``token_revoked``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DEFAULT_BOT_NAME",
    "DEFAULT_INSTALLER_ID",
    "ApiRequest",
    "Enterprise",
    "IssuedToken",
    "SlackError",
    "TokenKind",
    "TokenRegistry",
    "Workspace",
]

DEFAULT_BOT_NAME = "maxim"
DEFAULT_INSTALLER_ID = "U1"  # the person who clicks "Allow": oauth.v2.access's authed_user

TokenKind = Literal["bot", "app", "user"]


class SlackError(Exception):
    """An ``ok: false`` answer; raised by method handlers.

    ``fields`` are extra keys of the answer, as Slack sends with some errors
    (``missing_scope`` names the ``needed`` and the ``provided`` scopes).
    """

    def __init__(self, error: str, **fields: Any) -> None:
        super().__init__(error)
        self.error = error
        self.fields = fields


@dataclass(eq=False)
class Workspace:
    """One Slack workspace (team) the app can be installed in, and the app's bot user there.

    ``channels`` are the channels the bot is a member of in that workspace: chat.postMessage
    elsewhere answers ``not_in_channel`` (direct messages, ``D…``, always work).
    """

    team_id: str
    team_name: str
    team_domain: str
    bot_user_id: str
    bot_id: str
    bot_name: str = DEFAULT_BOT_NAME
    installer_user_id: str = DEFAULT_INSTALLER_ID
    channels: set[str] = field(default_factory=set)
    enterprise_id: str | None = None  # the Enterprise Grid org it belongs to, if any

    @property
    def url(self) -> str:
        """The workspace URL auth.test reports."""
        return f"https://{self.team_domain}.slack.com/"

    def team_field(self) -> dict[str, str]:
        """``{"id", "name"}``: how oauth.v2.access names the workspace."""
        return {"id": self.team_id, "name": self.team_name}


@dataclass(eq=False)
class Enterprise:
    """An Enterprise Grid organisation: workspaces (``Workspace.enterprise_id``) under one org.

    An org-wide installation gets one bot token for the org (no team): it serves every
    workspace of the org, and the app's bot user there is the org's (``bot_user_id``).
    """

    enterprise_id: str
    name: str
    bot_user_id: str
    bot_id: str
    installer_user_id: str = DEFAULT_INSTALLER_ID
    #: Workspaces of the org an org admin took the app out of: the org token is refused there.
    not_granted: set[str] = field(default_factory=set)

    def enterprise_field(self) -> dict[str, str]:
        """``{"id", "name"}``: how oauth.v2.access names the org."""
        return {"id": self.enterprise_id, "name": self.name}


@dataclass(eq=False)
class IssuedToken:
    """A token the fake issued. ``scopes`` None means "the fake's scopes now"."""

    value: str
    kind: TokenKind
    team_id: str | None  # None for an app-level token, or an org-wide one (`enterprise_id`)
    scopes: str | None = None
    expires_at: float | None = None  # by the fake's clock; None never expires
    revoked: bool = False
    enterprise_id: str | None = None  # set, with no team: an org-wide installation's token

    def problem(self, now: float) -> str | None:
        """The Slack error a call with this token gets, if it is no longer usable."""
        if self.revoked:
            return "token_revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "token_expired"
        return None


@dataclass(eq=False)
class _RefreshToken:
    value: str
    kind: TokenKind
    team_id: str | None  # None: an org-wide installation's (`enterprise_id`)
    client_id: str
    scopes: str
    enterprise_id: str | None = None


class TokenRegistry:
    """Every token the fake accepts; a token it did not issue is ``invalid_auth``."""

    def __init__(self) -> None:
        """Start with no tokens; the fake adds its constructor's, OAuth adds the rest."""
        self._tokens: dict[str, IssuedToken] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._serial = 0

    def __iter__(self) -> Iterator[IssuedToken]:
        """The tokens in the order they were issued."""
        return iter(list(self._tokens.values()))

    def get(self, value: str) -> IssuedToken | None:
        """The record of ``value``, or None if the fake never issued it."""
        return self._tokens.get(value)

    def add(self, token: IssuedToken) -> IssuedToken:
        """Accept ``token`` from now on."""
        self._tokens[token.value] = token
        return token

    def issue(
        self,
        kind: TokenKind,
        team_id: str | None,
        scopes: str,
        expires_at: float | None,
        enterprise_id: str | None = None,
    ) -> IssuedToken:
        """A new ``xoxb-<team>-<n>`` (or ``xoxp-`` for a user) token for ``team_id``.

        ``team_id`` None with ``enterprise_id``: an org-wide token, ``xoxb-<org>-<n>``.
        """
        self._serial += 1
        prefix = "xoxb" if kind == "bot" else "xoxp"
        value = f"{prefix}-{team_id or enterprise_id}-{self._serial}"
        return self.add(IssuedToken(value, kind, team_id, scopes, expires_at, False, enterprise_id))

    def issue_refresh(
        self,
        kind: TokenKind,
        team_id: str | None,
        client_id: str,
        scopes: str,
        enterprise_id: str | None = None,
    ) -> str:
        """A new single-use ``xoxe-1-…`` refresh token for a ``kind`` token of ``team_id``."""
        self._serial += 1
        value = f"xoxe-1-{team_id or enterprise_id}-{self._serial}"
        return self.add_refresh(value, kind, team_id, client_id, scopes, enterprise_id)

    def add_refresh(
        self,
        value: str,
        kind: TokenKind,
        team_id: str | None,
        client_id: str,
        scopes: str,
        enterprise_id: str | None = None,
    ) -> str:
        """Accept ``value`` once as a refresh token for a ``kind`` token of ``team_id``."""
        self._refresh[value] = _RefreshToken(value, kind, team_id, client_id, scopes, enterprise_id)
        return value

    def use_refresh(self, value: str, client_id: str) -> _RefreshToken | None:
        """Spend ``value`` (Slack revokes a refresh token once used); None if not valid."""
        found = self._refresh.get(value)
        if found is None or found.client_id != client_id:
            return None
        del self._refresh[value]
        return found

    def revoke_team(self, team_id: str) -> list[IssuedToken]:
        """Revoke every token and refresh token of ``team_id``; return the tokens revoked."""
        revoked = [t for t in self._tokens.values() if t.team_id == team_id and not t.revoked]
        for token in revoked:
            token.revoked = True
        for value in [v for v, r in self._refresh.items() if r.team_id == team_id]:
            del self._refresh[value]
        return revoked

    def revoke_enterprise(self, enterprise_id: str) -> list[IssuedToken]:
        """Revoke the org-wide tokens (and refresh tokens) of ``enterprise_id``; those revoked.

        Tokens of the org's workspaces' own installations are not touched.
        """
        revoked = [
            t
            for t in self._tokens.values()
            if t.team_id is None and t.enterprise_id == enterprise_id and not t.revoked
        ]
        for token in revoked:
            token.revoked = True
        org_wide = [
            v
            for v, r in self._refresh.items()
            if r.team_id is None and r.enterprise_id == enterprise_id
        ]
        for value in org_wide:
            del self._refresh[value]
        return revoked


@dataclass(frozen=True)
class ApiRequest:
    """One Web API call being answered: its arguments and who it authenticated as.

    ``token`` is what the call carried (``Authorization: Bearer`` or a ``token`` field);
    ``workspace`` and ``issued`` are set once that token was accepted.
    """

    body: dict[str, Any]
    headers: Mapping[str, str]
    token: str | None
    workspace: Workspace | None = None
    issued: IssuedToken | None = None

    @property
    def team(self) -> Workspace:
        """The workspace of the token; only for methods that take a workspace token."""
        if self.workspace is None:  # pragma: no cover - the method table guarantees one
            raise SlackError("not_authed")
        return self.workspace
