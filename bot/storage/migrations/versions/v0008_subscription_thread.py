"""A thread to talk in: ``thread`` is true when a daily post opens a thread for replies.

Revision ID: 0008
Revises: 0007

Every existing subscription posted without one, so it becomes ``thread = false``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the subscriptions' ``thread`` column; keeps every existing row, without a thread."""
    op.add_column(
        "subscriptions",
        sa.Column("thread", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Drop ``thread`` (daily posts go back to opening no thread)."""
    op.drop_column("subscriptions", "thread")
