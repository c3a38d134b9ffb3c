"""The Slack OAuth tables: installations, bots and OAuth states, as slack_sdk lays them out.

The columns are those of slack_sdk's ``SQLAlchemyInstallationStore`` and
``SQLAlchemyOAuthStateStore``, so rows read the same to anyone who knows those, with two
differences: datetimes are aware UTC (`UTCDateTime`, ``timestamptz`` on PostgreSQL) rather than
naive, and strings are unbounded, since Slack does not promise token lengths (rotating tokens
are longer than the ``VARCHAR(200)`` slack_sdk picked). The tables live on the bot's one
`metadata`, so tests/bot/storage/test_schema.py checks them against the migrations too
(``v0004_slack_installations``). This module imports no slack_sdk, so the storage package can
load it at once (keeping `metadata` whole) without costing every process slack_sdk's import.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.storage.tables import UTCDateTime, metadata

slack_installations = sa.Table(
    "slack_installations",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(), nullable=False),
    sa.Column("app_id", sa.String(), nullable=False),
    sa.Column("enterprise_id", sa.String(), nullable=True),
    sa.Column("enterprise_name", sa.String(), nullable=True),
    sa.Column("enterprise_url", sa.String(), nullable=True),
    sa.Column("team_id", sa.String(), nullable=True),
    sa.Column("team_name", sa.String(), nullable=True),
    sa.Column("bot_token", sa.String(), nullable=True),
    sa.Column("bot_id", sa.String(), nullable=True),
    sa.Column("bot_user_id", sa.String(), nullable=True),
    sa.Column("bot_scopes", sa.String(), nullable=True),
    sa.Column("bot_refresh_token", sa.String(), nullable=True),
    sa.Column("bot_token_expires_at", UTCDateTime(), nullable=True),
    sa.Column("user_id", sa.String(), nullable=False),
    sa.Column("user_token", sa.String(), nullable=True),
    sa.Column("user_scopes", sa.String(), nullable=True),
    sa.Column("user_refresh_token", sa.String(), nullable=True),
    sa.Column("user_token_expires_at", UTCDateTime(), nullable=True),
    sa.Column("incoming_webhook_url", sa.String(), nullable=True),
    sa.Column("incoming_webhook_channel", sa.String(), nullable=True),
    sa.Column("incoming_webhook_channel_id", sa.String(), nullable=True),
    sa.Column("incoming_webhook_configuration_url", sa.String(), nullable=True),
    sa.Column("is_enterprise_install", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("token_type", sa.String(), nullable=True),
    sa.Column("installed_at", UTCDateTime(), nullable=False),
    # Every lookup is "the latest row of this app in this workspace (for this user)".
    sa.Index(
        "ix_slack_installations_lookup",
        "client_id",
        "enterprise_id",
        "team_id",
        "user_id",
        "installed_at",
    ),
)

slack_bots = sa.Table(
    "slack_bots",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(), nullable=False),
    sa.Column("app_id", sa.String(), nullable=False),
    sa.Column("enterprise_id", sa.String(), nullable=True),
    sa.Column("enterprise_name", sa.String(), nullable=True),
    sa.Column("team_id", sa.String(), nullable=True),
    sa.Column("team_name", sa.String(), nullable=True),
    sa.Column("bot_token", sa.String(), nullable=True),
    sa.Column("bot_id", sa.String(), nullable=True),
    sa.Column("bot_user_id", sa.String(), nullable=True),
    sa.Column("bot_scopes", sa.String(), nullable=True),
    sa.Column("bot_refresh_token", sa.String(), nullable=True),
    sa.Column("bot_token_expires_at", UTCDateTime(), nullable=True),
    sa.Column("is_enterprise_install", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("installed_at", UTCDateTime(), nullable=False),
    sa.Index("ix_slack_bots_lookup", "client_id", "enterprise_id", "team_id", "installed_at"),
)

SEALED_COLUMNS: dict[sa.Table, tuple[str, ...]] = {
    slack_installations: (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",  # anyone holding it may post to its channel
    ),
    slack_bots: ("bot_token", "bot_refresh_token"),
}
"""The columns holding secrets, encrypted when ``MAXIM_STORAGE_KEY`` is set (`token_cipher`)."""

# The states that came back (used once; issuing one writes nothing): see `oauth_states`.
slack_oauth_states = sa.Table(
    "slack_oauth_states",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("state", sa.String(), nullable=False),
    sa.Column("expire_at", UTCDateTime(), nullable=False),
    sa.Index("ix_slack_oauth_states_state", "state", unique=True),
    sa.Index("ix_slack_oauth_states_expire_at", "expire_at"),  # pruning expired states
)
