"""OAuth v2 for the emulator: "Add to Slack", code exchange, token rotation and uninstalls.

Why this exists: a bot distributed to many workspaces gets each workspace's bot token from
Slack's OAuth v2 flow and, with token rotation on, must refresh it before it expires (12 h).
`OAuthMixin` gives `FakeSlack` that side of Slack, answering the real slack_sdk
(``AsyncWebClient.oauth_v2_access``, ``AsyncTokenRotator``) and bolt's ``AsyncOAuthFlow``:

* ``GET /oauth/v2/authorize`` — the page the "Add to Slack" button opens: it installs into
  `next_install_team` (or the ``team`` query parameter) and redirects to ``redirect_uri`` with
  ``code`` and the ``state`` it was given, as Slack does once the user clicks "Allow".
* ``oauth.v2.access`` — client credentials in HTTP Basic auth (as slack_sdk sends them) or in
  form fields; a single-use code (10 minutes) for a new bot token, or a single-use refresh
  token for a new access + refresh token pair.  The old access token keeps working until it
  expires, as on Slack.
* `uninstall` — revokes the workspace's tokens and returns the ``app_uninstalled`` callback;
  `uninstall_org` does the same for an Enterprise Grid org-wide installation.
* Enterprise Grid (`add_enterprise`): ``issue_code(enterprise_id=...)`` or
  ``next_install_enterprise`` install the app org-wide: oauth.v2.access answers with
  ``is_enterprise_install: true``, the ``enterprise`` and ``team: null``, and one token for the
  org (`org_tokens`); installing into one workspace of an org names the org too.
* `accept_refresh_token` — a refresh token issued before the test began (any value), so that
  an installation store's own rows can be refreshed; one the fake does not know is refused
  (``invalid_refresh_token``), as Slack refuses a spent or revoked one.  ``calls_to(
  "oauth.v2.access")`` records each exchange with what it answered.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.slack.payloads import app_uninstalled_payload
from tests.fakes.slack.workspaces import (
    ApiRequest,
    Enterprise,
    IssuedToken,
    SlackError,
    TokenKind,
    TokenRegistry,
    Workspace,
)

__all__ = ["CODE_SECONDS", "DEFAULT_EXPIRES_IN", "OAuthApp", "OAuthMixin"]

CODE_SECONDS = 600  # Slack's authorization codes expire after 10 minutes
DEFAULT_EXPIRES_IN = 43_200  # a rotating token lives 12 hours


@dataclass(frozen=True)
class OAuthApp:
    """An app's OAuth credentials as registered with the fake.

    ``redirect_uri`` set: the authorize page accepts only that one (Slack checks it against
    the app's configured Redirect URLs).  ``token_rotation``: tokens expire after
    ``expires_in`` seconds and come with a refresh token.
    """

    client_id: str
    client_secret: str
    token_rotation: bool = False
    expires_in: int = DEFAULT_EXPIRES_IN
    redirect_uri: str | None = None


@dataclass(frozen=True)
class _Grant:
    """An authorization code: what the user agreed to, for which workspace (or org) and app."""

    team_id: str | None  # None: an org-wide installation of `enterprise_id`
    client_id: str | None  # None: issue_code without an app, any registered app may use it
    scope: str | None
    user_scope: str
    redirect_uri: str | None
    issued_at: float
    enterprise_id: str | None = None  # set with no team: the whole org


class OAuthMixin:
    """The OAuth v2 side of `FakeSlack` (which provides the attributes declared here)."""

    clock: Callable[[], float]
    app_id: str
    scopes: str
    workspaces: dict[str, Workspace]
    enterprises: dict[str, Enterprise]
    _tokens: TokenRegistry

    @property
    def base_url(self) -> str:  # pragma: no cover - FakeSlack defines it
        """``http://127.0.0.1:PORT/``."""
        raise NotImplementedError

    def _init_oauth(self) -> None:
        #: Registered apps by client id (see `oauth_app`).
        self.oauth_apps: dict[str, OAuthApp] = {}
        #: The workspace the next visit to the authorize page installs into (then reset);
        #: None: the default workspace.  A ``team`` query parameter takes precedence.
        self.next_install_team: str | None = None
        #: The Grid org the next visit to the authorize page installs into org-wide (then
        #: reset); takes precedence over the team.
        self.next_install_enterprise: str | None = None
        #: The next visit to the authorize page is refused by the user (``access_denied``).
        self.next_install_denied = False
        #: Query parameters of every visit to the authorize page (scopes, state, ...).
        self.authorize_requests: list[dict[str, str]] = []
        #: Successful refresh_token exchanges per team id (0 for any other).
        self.refreshes: Counter[str] = Counter()
        #: Team ids (an org-wide install: the enterprise id) in the order oauth.v2.access
        #: installed into them (code exchanges).
        self.installs: list[str] = []
        #: Every code, access token and refresh token OAuth handed out, in order: none of
        #: them may ever show in the bot's log.
        self.issued: list[str] = []
        self._codes: dict[str, _Grant] = {}

    # ---------------------------------------------------------------- test-facing API

    def oauth_app(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_rotation: bool = False,
        expires_in: int = DEFAULT_EXPIRES_IN,
        redirect_uri: str | None = None,
    ) -> OAuthApp:
        """Register an app's OAuth credentials; oauth.v2.access accepts only registered ones."""
        if expires_in < 1:
            raise ValueError("expires_in must be >= 1")
        app = OAuthApp(client_id, client_secret, token_rotation, expires_in, redirect_uri)
        self.oauth_apps[client_id] = app
        return app

    @property
    def authorize_url(self) -> str:
        """``<base>/oauth/v2/authorize``: bolt's ``OAuthSettings(authorization_url=...)``."""
        return f"{self.base_url}oauth/v2/authorize"

    def issue_code(
        self,
        team_id: str | None = None,
        *,
        client_id: str | None = None,
        scope: str | None = None,
        user_scope: str = "",
        redirect_uri: str | None = None,
        enterprise_id: str | None = None,
    ) -> str:
        """An authorization code for ``team_id``, as if its user had clicked "Allow".

        For tests that skip the browser step.  ``redirect_uri`` given: oauth.v2.access must
        send the same one (Slack's rule); ``scope`` None grants the fake's ``scopes``.
        ``enterprise_id`` (no ``team_id``): an org-wide installation of that Grid org.
        """
        if enterprise_id is not None:
            if team_id is not None or enterprise_id not in self.enterprises:
                raise ValueError("an org-wide install names a known enterprise and no team")
            grant_team, owner = None, enterprise_id
        else:
            grant_team = owner = self._workspace(team_id).team_id
        code = f"{owner}.{uuid.uuid4().hex}"
        self._codes[code] = _Grant(
            grant_team, client_id, scope, user_scope, redirect_uri, self.clock(), enterprise_id
        )
        self.issued.append(code)
        return code

    def accept_refresh_token(
        self,
        value: str,
        *,
        team_id: str | None = None,
        kind: TokenKind = "bot",
        client_id: str | None = None,
    ) -> None:
        """Accept ``value`` once as a refresh token of a ``kind`` token of ``team_id``.

        As if this fake had issued it before the test began.  ``client_id`` None: the one
        registered app (`oauth_app`).
        """
        if client_id is None:
            if len(self.oauth_apps) != 1:
                raise ValueError("name the client_id: register exactly one oauth_app or pass it")
            [client_id] = self.oauth_apps
        team = self._workspace(team_id)
        self._tokens.add_refresh(value, kind, team.team_id, client_id, self.scopes)

    def expire_token(self, token: str) -> None:
        """Make ``token`` expired now (``token_expired``), as if its 12 hours had passed."""
        issued = self._tokens.get(token)
        if issued is None:
            raise KeyError(f"the fake never issued {token!r}")
        issued.expires_at = self.clock()

    def tokens_for(self, team_id: str, kind: TokenKind = "bot") -> list[str]:
        """The usable ``kind`` tokens of ``team_id`` now, oldest first."""
        now = self.clock()
        return [
            t.value
            for t in self._tokens
            if t.team_id == team_id and t.kind == kind and t.problem(now) is None
        ]

    def org_tokens(self, enterprise_id: str) -> list[str]:
        """The usable bot tokens of ``enterprise_id``'s org-wide installation, oldest first."""
        now = self.clock()
        return [
            t.value
            for t in self._tokens
            if t.team_id is None
            and t.enterprise_id == enterprise_id
            and t.kind == "bot"
            and t.problem(now) is None
        ]

    def uninstall_org(self, enterprise_id: str) -> dict[str, Any]:
        """Remove the org-wide installation of ``enterprise_id``; return ``app_uninstalled``.

        Its org tokens are revoked (``token_revoked`` from then on); installations of its
        workspaces' own stay. The callback names the org and no team, with an authorization
        saying ``is_enterprise_install``, as Slack sends for an org-wide app.
        """
        org = self.enterprises[enterprise_id]
        self._tokens.revoke_enterprise(enterprise_id)
        self._codes = {
            c: g
            for c, g in self._codes.items()
            if not (g.team_id is None and g.enterprise_id == enterprise_id)
        }
        return app_uninstalled_payload(
            None, api_app_id=self.app_id, bot_user_id=org.bot_user_id, enterprise_id=enterprise_id
        )

    def uninstall(self, team_id: str) -> dict[str, Any]:
        """Remove the app from ``team_id``: revoke its tokens; return ``app_uninstalled``.

        Later calls with those tokens answer ``token_revoked``; refresh tokens stop working.
        Deliver the returned Events API payload to the bot (``socket_send("events_api", …)``
        or as an HTTP body) the way Slack would; the workspace can be installed again.
        """
        team = self._workspace(team_id)
        self._tokens.revoke_team(team.team_id)
        self._codes = {c: g for c, g in self._codes.items() if g.team_id != team.team_id}
        return app_uninstalled_payload(
            team.team_id, api_app_id=self.app_id, bot_user_id=team.bot_user_id
        )

    def _workspace(self, team_id: str | None) -> Workspace:
        if team_id is None:
            return next(iter(self.workspaces.values()))
        try:
            return self.workspaces[team_id]
        except KeyError:
            raise KeyError(f"unknown workspace {team_id!r}: add_workspace() it first") from None

    # ---------------------------------------------------------------- GET /oauth/v2/authorize

    async def _handle_authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        self.authorize_requests.append(query)
        app = self.oauth_apps.get(query.get("client_id", ""))
        if app is None:
            return web.Response(status=400, text="invalid_client_id")
        redirect_uri = query.get("redirect_uri") or app.redirect_uri
        if not redirect_uri or (app.redirect_uri and redirect_uri != app.redirect_uri):
            return web.Response(status=400, text="bad_redirect_uri")
        team_id = query.get("team") or self.next_install_team
        enterprise_id, self.next_install_enterprise = self.next_install_enterprise, None
        self.next_install_team = None
        if enterprise_id is not None:
            team_id = None  # the person picked the whole org on Slack's page
        if team_id is not None and team_id not in self.workspaces:
            return web.Response(status=400, text="invalid_team")
        answer: dict[str, str]
        if self.next_install_denied:
            self.next_install_denied = False
            answer = {"error": "access_denied"}
        else:
            code = self.issue_code(
                team_id,
                client_id=app.client_id,
                scope=query.get("scope") or None,
                user_scope=query.get("user_scope", ""),
                redirect_uri=query.get("redirect_uri"),
                enterprise_id=enterprise_id,
            )
            answer = {"code": code}
        if "state" in query:
            answer["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(f"{redirect_uri}{separator}{urlencode(answer)}")

    # ---------------------------------------------------------------- oauth.v2.access

    def _oauth_v2_access(self, req: ApiRequest) -> dict[str, Any]:
        app = self._client_app(req.headers, req.body)
        grant_type = str(req.body.get("grant_type") or "authorization_code")
        if grant_type == "refresh_token":
            return self._refresh(app, str(req.body.get("refresh_token") or ""))
        if grant_type != "authorization_code":
            raise SlackError("invalid_grant_type")
        grant = self._codes.pop(str(req.body.get("code") or ""), None)
        if (
            grant is None
            or self.clock() - grant.issued_at > CODE_SECONDS
            or grant.client_id not in (None, app.client_id)
        ):
            raise SlackError("invalid_code")
        if grant.redirect_uri is not None and req.body.get("redirect_uri") != grant.redirect_uri:
            raise SlackError("bad_redirect_uri")
        bot_scopes = self.scopes if grant.scope is None else grant.scope
        if grant.team_id is None:  # org-wide: one token for the org, no team
            org = self.enterprises[str(grant.enterprise_id)]
            installer, owner = org.installer_user_id, (None, org.enterprise_id)
            answer = {
                **self._token_fields(app, "bot", owner, bot_scopes),
                "bot_user_id": org.bot_user_id,
                "app_id": self.app_id,
                "team": None,
                "enterprise": org.enterprise_field(),
                "is_enterprise_install": True,
                "authed_user": {"id": installer},
            }
        else:
            team = self.workspaces[grant.team_id]
            installer, owner = team.installer_user_id, (team.team_id, team.enterprise_id)
            answer = {
                **self._token_fields(app, "bot", owner, bot_scopes),
                "bot_user_id": team.bot_user_id,
                "app_id": self.app_id,
                "team": team.team_field(),
                "enterprise": self._org_field(team.enterprise_id),
                "is_enterprise_install": False,
                "authed_user": {"id": installer},
            }
        if grant.user_scope:
            user_fields = self._token_fields(app, "user", owner, grant.user_scope)
            answer["authed_user"] = {"id": installer, **user_fields}
        self.installs.append(owner[0] or str(owner[1]))
        return answer

    def _org_field(self, enterprise_id: str | None) -> dict[str, str] | None:
        return None if enterprise_id is None else self.enterprises[enterprise_id].enterprise_field()

    def _client_app(self, headers: Mapping[str, str], body: Mapping[str, Any]) -> OAuthApp:
        """The app whose credentials came in HTTP Basic auth, or else in form fields."""
        client_id = str(body.get("client_id") or "")
        client_secret = str(body.get("client_secret") or "")
        auth = headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                decoded = base64.b64decode(auth[len("Basic ") :], validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                raise SlackError("invalid_client_id") from None
            client_id, _, client_secret = decoded.partition(":")
        app = self.oauth_apps.get(client_id)
        if app is None:
            raise SlackError("invalid_client_id")
        if client_secret != app.client_secret:
            raise SlackError("bad_client_secret")
        return app

    def _refresh(self, app: OAuthApp, refresh_token: str) -> dict[str, Any]:
        spent = self._tokens.use_refresh(refresh_token, app.client_id)
        if spent is None:
            raise SlackError("invalid_refresh_token")
        owner = (spent.team_id, spent.enterprise_id)
        if spent.team_id is None:  # an org-wide installation's token
            org = self.enterprises[str(spent.enterprise_id)]
            self.refreshes[org.enterprise_id] += 1
            who: Workspace | Enterprise = org
            names = {
                "team": None,
                "enterprise": org.enterprise_field(),
                "is_enterprise_install": True,
            }
        else:
            team = who = self.workspaces[spent.team_id]
            self.refreshes[team.team_id] += 1
            names = {
                "team": team.team_field(),
                "enterprise": self._org_field(team.enterprise_id),
                "is_enterprise_install": False,
            }
        answer = {
            **self._token_fields(app, spent.kind, owner, spent.scopes, rotate=True),
            "app_id": self.app_id,
            **names,
        }
        if spent.kind == "bot":
            answer["bot_user_id"] = who.bot_user_id
        else:
            answer["user_id"] = who.installer_user_id
        return answer

    def _token_fields(
        self,
        app: OAuthApp,
        kind: TokenKind,
        owner: tuple[str | None, str | None],
        scopes: str,
        *,
        rotate: bool = False,
    ) -> dict[str, Any]:
        """A new access token (plus refresh token and expires_in when rotating).

        ``owner`` is (team id, enterprise id): a team's token (in its org, if any), or with no
        team an org-wide installation's.
        """
        team_id, enterprise_id = owner
        rotating = rotate or app.token_rotation
        expires_at = self.clock() + app.expires_in if rotating else None
        org_wide = enterprise_id if team_id is None else None
        token: IssuedToken = self._tokens.issue(kind, team_id, scopes, expires_at, org_wide)
        self.issued.append(token.value)
        fields: dict[str, Any] = {
            "access_token": token.value,
            "token_type": kind,
            "scope": scopes,
        }
        if rotating:
            fields["refresh_token"] = self._tokens.issue_refresh(
                kind, team_id, app.client_id, scopes, org_wide
            )
            self.issued.append(fields["refresh_token"])
            fields["expires_in"] = app.expires_in
        return fields
