"""Shared fixtures.

Databases:

* `sqlite_url` - a SQLite file in the test's tmp_path.
* `postgres_server`, `postgres_url`, `stoppable_postgres` - real PostgreSQL servers the tests
  start themselves: see tests/postgres_plugin.py, registered here.
* `db_url` - a fresh, empty database of each backend: a test using it runs twice, once on
  SQLite and once on PostgreSQL (that run carries the ``postgres`` mark, so
  ``-m "not postgres"`` leaves it out).
* `storage` - a `Storage` on `sqlite_url`; a module testing both backends overrides it with
  one opened on `db_url`.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.storage import Storage

pytest_plugins = ["tests.postgres_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    """Register `bot_process`: tests/bot/bot_process.py hands it out as `starts_bot_process`."""
    config.addinivalue_line(
        "markers", "bot_process: starts maxim-bot as a child process (python -m bot)"
    )


def _waits_longest_first(item: pytest.Item) -> int:
    if item.get_closest_marker("slow"):
        return 0
    if any(item.get_closest_marker(m) for m in ("bot_process", "child_process", "postgres")):
        return 1
    return 2


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, hand out the tests that wait longest first.

    The suite's wall clock is bounded by its slowest tests: started last, one of them would
    run alone at the end while the other workers idle. Started first, the many quick
    in-process tests fill the gaps around them. A stable sort, so each group keeps its order
    (every worker must collect the same order).
    """
    if config.getoption("numprocesses", None):
        items.sort(key=_waits_longest_first)


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put back the root handlers and excepthooks that `setup_logging` (and `main`) replace.

    Autouse: a test that runs ``maxim-bot`` in-process (``main([...])``) leaves a handler on
    the stream pytest captured for it, which is closed by the next test ("--- Logging
    error ---" in someone else's output).
    """
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    hooks = (sys.excepthook, threading.excepthook)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    sys.excepthook, threading.excepthook = hooks


# ----------------------------------------------------------------------------------------------
# SQLite


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """URL of a not-yet-existing SQLite database file in the test's tmp_path."""
    return f"sqlite+aiosqlite:///{tmp_path / 'maxim.db'}"


@pytest.fixture
async def storage(sqlite_url: str) -> AsyncIterator[Storage]:
    """Real storage on a fresh SQLite file (modules testing both backends override it)."""
    store = await Storage.open(sqlite_url)
    yield store
    await store.close()


# ----------------------------------------------------------------------------------------------
# Both backends


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database of each backend (see the module docstring)."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: str = request.getfixturevalue(fixture)
    return url
