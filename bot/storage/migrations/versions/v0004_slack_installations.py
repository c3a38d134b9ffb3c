"""Slack OAuth: installations, bots (their tokens, refreshed by rotation) and OAuth states.

Revision ID: 0004
Revises: 0003

The columns are slack_sdk's (see `bot.storage.slack.tables`); every lookup is "the latest row
of this app in this workspace", hence one index per table ending in ``installed_at``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the three Slack OAuth tables; touches no existing table."""
    op.create_table(
        "slack_installations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
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
        sa.Column("bot_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("user_token", sa.String(), nullable=True),
        sa.Column("user_scopes", sa.String(), nullable=True),
        sa.Column("user_refresh_token", sa.String(), nullable=True),
        sa.Column("user_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("incoming_webhook_url", sa.String(), nullable=True),
        sa.Column("incoming_webhook_channel", sa.String(), nullable=True),
        sa.Column("incoming_webhook_channel_id", sa.String(), nullable=True),
        sa.Column("incoming_webhook_configuration_url", sa.String(), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("token_type", sa.String(), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slack_installations"),
    )
    op.create_index(
        "ix_slack_installations_lookup",
        "slack_installations",
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    op.create_table(
        "slack_bots",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
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
        sa.Column("bot_token_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slack_bots"),
    )
    op.create_index(
        "ix_slack_bots_lookup",
        "slack_bots",
        ["client_id", "enterprise_id", "team_id", "installed_at"],
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("expire_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_slack_oauth_states"),
    )
    op.create_index("ix_slack_oauth_states_state", "slack_oauth_states", ["state"], unique=True)
    op.create_index("ix_slack_oauth_states_expire_at", "slack_oauth_states", ["expire_at"])


def downgrade() -> None:
    """Drop the three tables (loses every installation: each workspace must reinstall)."""
    op.drop_index("ix_slack_oauth_states_expire_at", table_name="slack_oauth_states")
    op.drop_index("ix_slack_oauth_states_state", table_name="slack_oauth_states")
    op.drop_table("slack_oauth_states")
    op.drop_index("ix_slack_bots_lookup", table_name="slack_bots")
    op.drop_table("slack_bots")
    op.drop_index("ix_slack_installations_lookup", table_name="slack_installations")
    op.drop_table("slack_installations")
