"""Subscription source/health, Slack event de-duplication and trigger cooldowns.

Revision ID: 0002
Revises: 0001

Existing subscriptions were all set in chat, so they become ``source = 'command'`` and healthy.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add two subscription columns and two tables; keeps every existing row."""
    op.add_column(
        "subscriptions",
        sa.Column("source", sa.String(), nullable=False, server_default="command"),
    )
    op.add_column("subscriptions", sa.Column("failing", sa.Text(), nullable=True))
    op.create_table(
        "delivered_events",
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "event_id", name="pk_delivered_events"),
    )
    op.create_index("ix_delivered_events_received_at", "delivered_events", ["received_at"])
    op.create_table(
        "cooldowns",
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("channel", sa.String(), nullable=False),
        sa.Column("rule", sa.String(), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("platform", "channel", "rule", name="pk_cooldowns"),
    )


def downgrade() -> None:
    """Drop what `upgrade` added (loses sources, failing reasons, events and cooldowns)."""
    op.drop_table("cooldowns")
    op.drop_index("ix_delivered_events_received_at", table_name="delivered_events")
    op.drop_table("delivered_events")
    op.drop_column("subscriptions", "failing")
    op.drop_column("subscriptions", "source")
