"""An index on the subscriptions' (``platform``, ``workspace``): one workspace's posts, read alone.

Revision ID: 0011
Revises: 0010

The Slack Home tab shows the daily posts of the workspace it is opened in, and an uninstall
removes one workspace's; with thousands of workspaces in one deployment, neither may read
every subscription. No data changes.
"""

from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add ``ix_subscriptions_workspace``; keeps every row."""
    op.create_index("ix_subscriptions_workspace", "subscriptions", ["platform", "workspace"])


def downgrade() -> None:
    """Drop the index (a Home tab then reads every subscription of its platform again)."""
    op.drop_index("ix_subscriptions_workspace", table_name="subscriptions")
