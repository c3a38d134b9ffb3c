"""The SQLite file on disk: its directory, created when missing, and private file modes.

A fresh install needs no preparation; a directory that cannot be created or written is a
configuration that cannot work (`StorageRefused`, exit status 2), not an outage to wait out.

The file holds every workspace's Slack tokens, so it is readable by its owner alone (0600).
It is created that way before SQLite opens it (``O_CREAT | O_EXCL`` with mode 0600), not
chmod-ed afterwards, so there is no moment when another user could open it whatever the
umask. SQLite creates its ``-wal`` and ``-shm`` files with the database file's mode, so they
are private too. A file (or a leftover ``-wal``/``-shm``) from an older version that others
may read is made private at start, with one WARNING line.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Final

from bot.storage.outages import StorageRefused

log = logging.getLogger(__name__)

PRIVATE_MODE: Final = 0o600
SIDE_FILES: Final = ("-wal", "-shm", "-journal")


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


def prepare_sqlite_file(path: Path) -> None:
    """Make `path` ready for SQLite: its directory exists, the file exists and is private."""
    prepare_sqlite_directory(path)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    except FileExistsError:
        pass
    except OSError as err:
        raise StorageRefused(
            f"storage.url: cannot create the SQLite file {path} "
            f"({type(err).__name__}: {err.strerror or err})"
        ) from None
    for file in (path, *(path.with_name(path.name + suffix) for suffix in SIDE_FILES)):
        _make_private(file)


def _make_private(file: Path) -> None:
    """Take group and other permissions away from an existing `file`; one WARNING if so."""
    try:
        mode = stat.S_IMODE(file.stat().st_mode)
    except FileNotFoundError:
        return
    if not mode & 0o077:
        return
    try:
        file.chmod(mode & 0o700)
    except OSError as err:
        log.warning(
            "%s is readable by others (mode %04o) and cannot be made private (%s): it holds "
            "tokens, chmod 600 it",
            file,
            mode,
            err.strerror or type(err).__name__,
        )
        return
    log.warning(
        "%s was readable by others (mode %04o): made it private (%04o)", file, mode, mode & 0o700
    )
