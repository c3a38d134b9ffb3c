"""Alembic's entry point for `bot.storage`: run the migrations on the connection it was given.

`bot.storage.schema` calls `alembic.command.upgrade` with the connection in
``config.attributes["connection"]``, already inside a transaction that holds the migration
lock; Alembic then joins that transaction instead of opening its own. There is no
``alembic.ini`` and no URL here, so the ``alembic`` command line cannot run these scripts on
its own: use ``bot.storage.migrate(url, revision)``.
"""

from __future__ import annotations

from alembic import context

from bot.storage.tables import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "bot.storage migrations need a connection in config.attributes['connection']; "
        "run them with bot.storage.migrate(url, revision)"
    )
context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
