"""The SQLite file holds tokens: it, its -wal and its -shm are readable by their owner alone.

Run under the usual umask (022), which would leave a file SQLite creates itself at 0644.
"""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage import Storage


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_database_and_its_wal_and_shm_are_private(tmp_path: Path):
    path = tmp_path / "data" / "maxim.db"
    async with await Storage.open(f"sqlite+aiosqlite:///{path}") as storage:
        await storage.set_meta("k", "v")  # a write: the -wal and -shm exist while it is open
        wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
        assert wal.exists()
        assert shm.exists()
        assert {p.name: mode(p) for p in (path, wal, shm)} == {
            "maxim.db": 0o600,
            "maxim.db-wal": 0o600,
            "maxim.db-shm": 0o600,
        }


async def test_an_older_world_readable_database_is_made_private_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    path = tmp_path / "maxim.db"
    async with await Storage.open(f"sqlite+aiosqlite:///{path}") as storage:
        await storage.set_meta("k", "v")
    path.chmod(0o644)  # as versions before 0600 left it
    with caplog.at_level(logging.WARNING, logger="bot.storage"):
        async with await Storage.open(f"sqlite+aiosqlite:///{path}") as storage:
            assert await storage.get_meta("k") == "v"
            await storage.set_meta("k", "w")
            assert mode(path) == 0o600
            assert mode(Path(f"{path}-wal")) == 0o600
    assert [r.getMessage() for r in caplog.records] == [
        f"{path} was readable by others (mode 0644): made it private (0600)"
    ]
