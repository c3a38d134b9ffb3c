"""The SQLite file's place on disk: its directory, created when missing.

A fresh install needs no preparation; a directory that cannot be created or written is a
configuration that cannot work (`StorageRefused`, exit status 2), not an outage to wait out.
"""

from __future__ import annotations

import os
from pathlib import Path

from bot.storage.outages import StorageRefused


def prepare_sqlite_directory(path: Path) -> None:
    """Create the database file's directory; `StorageRefused` if that or writing is impossible."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise StorageRefused(
            f"storage.url: cannot create the directory {path.parent} for the SQLite file "
            f"({type(err).__name__}: {err.strerror or err})"
        ) from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise StorageRefused(
            f"storage.url: the directory {path.parent} of the SQLite file is not writable"
        )
