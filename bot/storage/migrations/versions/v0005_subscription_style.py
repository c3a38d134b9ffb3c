"""How a daily post looks: ``style`` is ``text`` (the maxim as a message) or ``card`` (a picture).

Revision ID: 0005
Revises: 0004

Every existing subscription was a text post, so it becomes ``style = 'text'``.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add the subscriptions' ``style`` column; keeps every existing row, as text."""
    op.add_column(
        "subscriptions",
        sa.Column("style", sa.String(), nullable=False, server_default="text"),
    )


def downgrade() -> None:
    """Drop ``style`` (card subscriptions go back to text posts)."""
    op.drop_column("subscriptions", "style")
