"""Enterprise Grid: ``enterprise`` is the Slack organisation a daily post was set in.

Revision ID: 0009
Revises: 0008

An org-wide installation has no team of its own: a daily post in one of its workspaces goes
out with the org's token, found by this id, and the org's uninstall removes the posts of every
workspace it covered. Every existing subscription was set outside one (or before the bot knew),
so it becomes ``enterprise = ''``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the subscriptions' ``enterprise`` column; keeps every existing row, with none."""
    op.add_column(
        "subscriptions",
        sa.Column("enterprise", sa.String(), nullable=False, server_default=""),
    )


def downgrade() -> None:
    """Drop ``enterprise`` (posts in workspaces of an org-wide install stop finding a token)."""
    op.drop_column("subscriptions", "enterprise")
