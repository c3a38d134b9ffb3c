"""When each subscription is next due, so the sweep reads only what is due.

Revision ID: 0010
Revises: 0009

``due_at`` is the UTC instant of a subscription's next post that may still be due (the
scheduler writes it; NULL until it has, and again whenever the subscription changes). Its
index lets the once-a-minute sweep read only the rows due now, however many there are; the
index on (``post_time``, ``timezone``) lets a slot's job read only its own channels.
Existing rows start NULL: the first sweep after the upgrade computes them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``subscriptions.due_at`` and the two indexes; keeps every row (``due_at`` NULL)."""
    op.add_column("subscriptions", sa.Column("due_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_subscriptions_due_at", "subscriptions", ["due_at"])
    op.create_index("ix_subscriptions_slot", "subscriptions", ["post_time", "timezone"])


def downgrade() -> None:
    """Drop what `upgrade` added (the sweep then reads every subscription again)."""
    op.drop_index("ix_subscriptions_slot", table_name="subscriptions")
    op.drop_index("ix_subscriptions_due_at", table_name="subscriptions")
    op.drop_column("subscriptions", "due_at")
