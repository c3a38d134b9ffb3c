"""Alembic migration scripts for `bot.storage`, applied by `Storage.open` and `migrate`.

``env.py`` is the minimal Alembic environment: it runs the scripts in ``versions/`` on the
connection `bot.storage.schema` hands it (under a lock), so no ``alembic.ini`` ships. Never
edit a released revision; add a new one whose ``down_revision`` is the current head.
"""
