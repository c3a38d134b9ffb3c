"""Stats: counters per (workspace or guild, day, kind, maxim), never a person or a message.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``stats_counts`` (empty: nothing was counted before)."""
    op.create_table(
        "stats_counts",
        sa.Column("platform", sa.String(), primary_key=True),
        sa.Column("workspace", sa.String(), primary_key=True),
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("kind", sa.String(), primary_key=True),
        sa.Column("maxim", sa.Integer(), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Drop ``stats_counts`` and every count in it."""
    op.drop_table("stats_counts")
