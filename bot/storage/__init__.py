"""Durable state shared by every bot process: subscriptions, daily posts, de-duplication.

Why a database at all: the bot may run as several processes (a restart overlapping the old one,
or deliberate replicas), and Slack re-delivers events. The promises "one maxim per channel per
day", "each event handled once" and "the NaN answer at most once per cooldown" must therefore
hold *across processes*, so the database enforces them with single atomic statements.

The rest of the bot imports storage only from here: the records it reads and the `Storage`
repository it calls. Inside, `records` holds those records, `tables` the SQLAlchemy tables,
`engine` connecting (SQLite or PostgreSQL) and the Alembic migrations, `repository` the
`Storage` facade, which inherits the daily-post claims from `posts` and the process
heartbeats and pruning from `processes`.

`slack_tables` holds the tables of Slack OAuth (installations, bots, OAuth states).
"""

# Loaded now for its tables alone: `tables.metadata` is the whole schema only with them.
from bot.storage import slack_tables  # noqa: F401
from bot.storage.engine import (
    StorageOpenError,
    StorageRefused,
    StorageUnavailable,
    describe_outage,
    migrate,
)
from bot.storage.records import PostRecord, Subscription
from bot.storage.repository import Storage

__all__ = [
    "PostRecord",
    "Storage",
    "StorageOpenError",
    "StorageRefused",
    "StorageUnavailable",
    "Subscription",
    "describe_outage",
    "migrate",
]
