"""Alembic migration scripts for `bot.storage`, applied programmatically by `Storage.open`.

There is no ``env.py`` or ``alembic.ini``: `bot.storage` drives Alembic itself on the connection
it already holds (under a lock), so the scripts in ``versions/`` are all that ships. Never edit a
released revision; add a new one whose ``down_revision`` is the current head.
"""
