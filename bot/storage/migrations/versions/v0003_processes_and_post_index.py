"""Process heartbeats (prompt takeover of a dead process's claims) and an index for the sweep.

Revision ID: 0003
Revises: 0002

The scheduler's sweep reads ``daily_posts`` from yesterday on, every minute; the index on
``local_date`` keeps that read as cheap with years of history as with none.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the ``processes`` table and the ``daily_posts.local_date`` index; keeps all rows."""
    op.create_index("ix_daily_posts_local_date", "daily_posts", ["local_date"])
    op.create_table(
        "processes",
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("beat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner", name="pk_processes"),
    )


def downgrade() -> None:
    """Drop what `upgrade` added (claims then fall back to their lease alone)."""
    op.drop_table("processes")
    op.drop_index("ix_daily_posts_local_date", table_name="daily_posts")
