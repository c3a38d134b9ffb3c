"""Ordered schema revisions (0001, 0002, ...); Alembic skips this ``__init__`` file."""
