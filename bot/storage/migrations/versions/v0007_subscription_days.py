"""The days a daily post comes on: ``days``, a weekday mask (bit 0 Monday ... bit 6 Sunday).

Revision ID: 0007
Revises: 0006

Every existing subscription posted every day, so it becomes ``days = 127``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the subscriptions' ``days`` column; keeps every existing row, posting every day."""
    op.add_column(
        "subscriptions",
        sa.Column("days", sa.SmallInteger(), nullable=False, server_default="127"),
    )


def downgrade() -> None:
    """Drop ``days`` (every subscription goes back to posting every day)."""
    op.drop_column("subscriptions", "days")
