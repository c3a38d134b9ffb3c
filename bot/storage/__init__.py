"""Durable state shared by every bot process (see `bot.storage.repository` for the design).

The rest of the bot imports storage only from here: the records it reads and the `Storage`
repository it calls. How the package is split inside (records, tables, engine and migrations,
the repository) is its own business.
"""

from bot.storage.repository import PostRecord, Storage, Subscription, migrate

__all__ = ["PostRecord", "Storage", "Subscription", "migrate"]
