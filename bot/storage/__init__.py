"""Durable state shared by every bot process: subscriptions, daily posts, de-duplication.

Why a database at all: the bot may run as several processes (a restart overlapping the old one,
or deliberate replicas), and Slack re-delivers events. The promises "one maxim per channel per
day", "each event handled once" and "the NaN answer at most once per cooldown" must therefore
hold *across processes*, so the database enforces them with single atomic statements.

The rest of the bot imports storage only from here: the records it reads and the `Storage`
repository it calls. Inside, `records` holds those records, `tables` the SQLAlchemy tables,
`backends` the URLs and engines (SQLite set up by `sqlite_files` and `sqlite_pragmas`),
`engine` opening the database at start with its timeouts, `schema` the Alembic migrations,
`outages` the errors and telling an outage from a bug, and `repository` the `Storage`
facade, which inherits the daily-post claims from `posts`, the scheduler's reads of what is
due from `due`, and the process heartbeats and pruning from `processes`.

Slack OAuth (many workspaces) has its stores in the `slack` package: `SqlInstallationStore`
(with token rotation done once across processes) and `SqlOAuthStateStore`, in
`slack.installations` and `slack.oauth_states` over the tables of `slack.tables`. They are
loaded on first use, so a process that never serves Slack OAuth does not import slack_sdk.
The tokens they store are encrypted when ``MAXIM_STORAGE_KEY`` is set: `token_cipher` holds
the cipher, `slack.sealed_tokens` what is encrypted, the check at start and the key rotation.
"""

from typing import TYPE_CHECKING, Any

from bot.storage.outages import (
    StorageOpenError,
    StorageRefused,
    StorageUnavailable,
    describe_outage,
)
from bot.storage.records import (
    STAT_KINDS,
    DueSubscription,
    PostRecord,
    SlotCount,
    StatsSummary,
    Subscription,
    WantedPost,
)
from bot.storage.repository import Storage
from bot.storage.schema import migrate

# Loaded now for its tables alone: `tables.metadata` is the whole schema only with them.
from bot.storage.slack import tables as slack_tables  # noqa: F401

if TYPE_CHECKING:
    from bot.storage.slack.installations import SqlInstallationStore
    from bot.storage.slack.oauth_states import SqlOAuthStateStore

_LAZY = {
    "SqlInstallationStore": "bot.storage.slack.installations",
    "SqlOAuthStateStore": "bot.storage.slack.oauth_states",
}


def __getattr__(name: str) -> Any:
    """Import the Slack OAuth stores (and slack_sdk with them) only when asked for."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "STAT_KINDS",
    "DueSubscription",
    "PostRecord",
    "SlotCount",
    "SqlInstallationStore",
    "SqlOAuthStateStore",
    "StatsSummary",
    "Storage",
    "StorageOpenError",
    "StorageRefused",
    "StorageUnavailable",
    "Subscription",
    "WantedPost",
    "describe_outage",
    "migrate",
]
