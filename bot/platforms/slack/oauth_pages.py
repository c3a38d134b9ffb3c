"""Bolt's OAuth pages (``/slack/install``, ``/slack/oauth_redirect``), made safe to serve.

Bolt's `AsyncOAuthFlow` runs the install; `InstallFlow` changes only what it sends.
``/slack/install`` is no page of its own: it redirects at once (302) to Slack's authorize page,
setting the state cookie on the way (Bolt's ``install_page_rendering_enabled = False``), so a
link or "Add to Slack" button anywhere (the landing page's) starts the install, and the Slack
Marketplace's direct-install URL answers as Slack asks. What changes:

* the authorize URL (the redirect's ``Location``): Bolt pastes the ``team`` query parameter
  into it as it came, so a crafted link (``?team=T1%26scope%3Dadmin``...) could add
  ``scope``, ``user_scope``, ``redirect_uri`` or ``client_id``. A ``team`` must look like a
  Slack id (a page refuses anything else, naming no input), and every parameter is encoded;
* the state cookie: ``SameSite=Lax`` besides Bolt's ``Secure; HttpOnly`` (Slack's redirect
  back is a top-level GET, which Lax cookies accompany; a cross-site subrequest carries none);
* every answer: a restrictive ``Content-Security-Policy`` (no script, no image, nothing but
  the inline style each page holds, by its hash), no referrer (the redirect's URL holds the
  code and state), no caching, no framing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Sequence
from typing import Final
from urllib.parse import urlencode

from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.state_utils import OAuthStateUtils

# Slack's workspace (T...) and organisation (E...) ids: capitals and digits.
TEAM_ID: Final = re.compile(r"[TE][A-Z0-9]{1,31}")
_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)
BAD_TEAM_PAGE: Final = """<!DOCTYPE html>
<html><head><title>Not a Slack workspace</title></head>
<body><h2>This install link names no Slack workspace</h2>
<p>Its <code>team</code> is not a Slack workspace id. Add the app from
<a href="{install_path}">the install page</a> instead.</p></body></html>
"""


class LaxStateCookie(OAuthStateUtils):
    """Bolt's state cookie (``Secure; HttpOnly; Path=/``), also ``SameSite=Lax``."""

    def build_set_cookie_for_new_state(self, state: str) -> str:
        """The cookie that carries a new state to the browser."""
        return f"{super().build_set_cookie_for_new_state(state)}; SameSite=Lax"

    def build_set_cookie_for_deletion(self) -> str:
        """The cookie that ends the state's life in the browser."""
        return f"{super().build_set_cookie_for_deletion()}; SameSite=Lax"


class InstallFlow(AsyncOAuthFlow):
    """Bolt's OAuth flow with a checked ``team``, an encoded URL and secure page headers."""

    async def handle_installation(self, request: AsyncBoltRequest) -> BoltResponse:
        """A redirect to Slack's authorize page, or a 400 page when ``team`` is not a Slack id.

        The redirect has an empty body and carries the state cookie; the 400 page names no input.
        """
        teams = request.query.get("team")
        if teams is not None and (len(teams) != 1 or not TEAM_ID.fullmatch(teams[0])):
            page = BAD_TEAM_PAGE.format(install_path=self.install_path)
            html: dict[str, str | Sequence[str]] = {"content-type": "text/html; charset=utf-8"}
            return secured(BoltResponse(status=400, body=page, headers=html))
        return secured(await super().handle_installation(request))

    async def handle_callback(self, request: AsyncBoltRequest) -> BoltResponse:
        """Slack's redirect back: Bolt checks the state and exchanges the code."""
        return secured(await super().handle_callback(request))

    async def build_authorize_url(self, state: str, request: AsyncBoltRequest) -> str:
        """Slack's authorize URL with every parameter encoded (Bolt pastes them as they are)."""
        generator = self.settings.authorize_url_generator
        params = {
            "state": state,
            "client_id": generator.client_id,
            "scope": ",".join(generator.scopes or ()),
            "user_scope": ",".join(generator.user_scopes or ()),
        }
        if generator.redirect_uri is not None:
            params["redirect_uri"] = generator.redirect_uri
        teams = request.query.get("team")
        if teams:  # checked by handle_installation
            params["team"] = teams[0]
        return f"{generator.authorization_url}?{urlencode(params)}"


def content_security_policy(page: str) -> str:
    """A policy allowing `page` only its own inline styles: no script, image or form."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(style.encode()).digest()).decode() + "'"
        for style in _STYLE.findall(page)
    ]
    styles = " ".join(hashes) or "'none'"
    return "; ".join(
        (
            "default-src 'none'",
            f"style-src {styles}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def secured(response: BoltResponse) -> BoltResponse:
    """`response` with the headers every OAuth page gets (see the module docstring)."""
    response.headers.update(
        {
            "content-security-policy": [content_security_policy(response.body)],
            "referrer-policy": ["no-referrer"],
            "x-content-type-options": ["nosniff"],
            "cache-control": ["no-store"],
        }
    )
    return response
