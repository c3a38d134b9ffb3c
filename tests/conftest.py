"""Shared fixtures.

Databases:

* `sqlite_url` - a SQLite file in the test's tmp_path.
* `postgres_server` (session) - a real PostgreSQL server the tests start themselves, on
  127.0.0.1 with a free port and a temporary data directory, stopped and removed at the end.
* `postgres_url` - a fresh, empty database on that server (``postgresql+asyncpg://``).
* `db_url` - a fresh, empty database of each backend: a test using it runs twice, once on
  SQLite and once on PostgreSQL (that run carries the ``postgres`` mark, so
  ``-m "not postgres"`` leaves it out).
* `storage` - a `Storage` on `sqlite_url`; a module testing both backends overrides it with
  one opened on `db_url`.

When PostgreSQL is not installed, tests needing it are skipped with an install hint, except
under CI (env var ``CI`` set), where they fail: CI must run them.
"""

from __future__ import annotations

import itertools
import logging
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from bot.storage import Storage
from tests.helpers import missing_program

if TYPE_CHECKING:
    import psycopg


def pytest_configure(config: pytest.Config) -> None:
    """Register `bot_process`: tests/bot/bot_process.py hands it out as `starts_bot_process`."""
    config.addinivalue_line(
        "markers", "bot_process: starts maxim-bot as a child process (python -m bot)"
    )


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Put back the root handlers, level and excepthooks that `setup_logging` replaces.

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


# ----------------------------------------------------------------------------------------------
# PostgreSQL

PG_INSTALL_HINT = (
    "PostgreSQL is not installed (no pg_ctl found via pg_config, /usr/lib/postgresql/*/bin or "
    "PATH): install the server with `apt-get install postgresql` (or run .ci/test-packages.sh) "
    "to run the PostgreSQL tests"
)
PG_READY_TIMEOUT = 30.0  # seconds a started server may take to accept connections
PG_SERVER_OPTIONS = (
    "-c listen_addresses=127.0.0.1 -c max_connections=200 "
    "-c synchronous_commit=off -c full_page_writes=off"
)


def _postgres_unavailable(reason: str) -> NoReturn:
    missing_program(reason, "PostgreSQL tests")


def find_pg_ctl() -> str | None:
    """Locate pg_ctl: next to `pg_config --bindir`, newest /usr/lib/postgresql/*/bin, PATH."""
    candidates: list[Path] = []
    try:
        bindir = subprocess.run(
            ["pg_config", "--bindir"], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        candidates.append(Path(bindir) / "pg_ctl")
    except (OSError, subprocess.SubprocessError):
        pass

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(p) for p in path.parts[-3].split(".") if p.isdigit())

    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=version)[::-1]
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_ctl_as(user: pwd.struct_passwd, pg_ctl: str, wrapper: Path, workdir: Path) -> str:
    """Write an executable that runs `pg_ctl` as `user` (initdb/postgres refuse to run as root).

    A tiny Python script rather than ``runuser``/``su``: no PAM session, no dependency beyond
    the interpreter running the tests. It stays root-owned, outside the server's directory.
    """
    wrapper.write_text(
        f"#!{sys.executable} -IS\n"
        "import os, sys\n"
        f"os.setgroups([])\nos.setgid({user.pw_gid})\nos.setuid({user.pw_uid})\n"
        f"os.environ.update(HOME={user.pw_dir!r}, USER={user.pw_name!r}, "
        f"LOGNAME={user.pw_name!r})\n"
        f"os.chdir({str(workdir)!r})\n"
        f"os.execv({pg_ctl!r}, [{pg_ctl!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(0o755)
    return str(wrapper)


# Runs beside the test session and stops the server when the session ends *however* it ends:
# a SIGTERM (`timeout pytest ...`) or SIGKILL skips pytest's finalizers and would otherwise
# leave an orphaned server behind. It blocks reading its stdin, a pipe only pytest holds.
_WATCHDOG = """
import os, shutil, subprocess, sys
pg_ctl, datadir, base = sys.argv[1:]
sys.stdin.buffer.read()
if os.path.isdir(datadir):
    subprocess.run([pg_ctl, "stop", "-D", datadir, "-m", "immediate"], capture_output=True)
shutil.rmtree(base, ignore_errors=True)
"""


@dataclass(frozen=True)
class PostgresServer:
    """A running throwaway server; superuser ``postgres``, trust authentication."""

    host: str
    port: int
    user: str = "postgres"

    def url(self, dbname: str, driver: str = "postgresql+asyncpg") -> str:
        """Return a SQLAlchemy URL for `dbname` on this server."""
        return f"{driver}://{self.user}@{self.host}:{self.port}/{dbname}"

    def admin_execute(self, *statements: str) -> None:
        """Run `statements` on the ``postgres`` maintenance database, in autocommit mode."""
        with self._admin_connection() as conn:
            for statement in statements:
                conn.execute(statement.encode())

    def wait_until_ready(self, timeout: float = PG_READY_TIMEOUT) -> None:
        """Return once the server accepts connections; fail after `timeout` seconds.

        ``pg_ctl start -w`` can return while the server still answers "the database system is
        starting up" (seen on a loaded machine), and the first test then fails in setup.
        """
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                with self._admin_connection() as conn:
                    conn.execute(b"SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"PostgreSQL did not accept connections within {timeout:.0f} s: {exc}"
                    ) from exc
                time.sleep(0.1)

    def _admin_connection(self) -> psycopg.Connection[tuple[object, ...]]:
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        )


def _executor(stack: ExitStack, prefix: str, dbname: str) -> Any:
    """A not-yet-started server in a fresh temp directory, cleaned up by `stack`.

    As root, the directory belongs to the ``postgres`` system user and every pg_ctl call goes
    through a wrapper that drops to that user; a watchdog stops the server if the session dies.
    """
    pg_ctl = find_pg_ctl()
    if pg_ctl is None:
        _postgres_unavailable(PG_INSTALL_HINT)
    from pytest_postgresql.executors import PostgreSQLExecutor

    base = Path(tempfile.mkdtemp(prefix=prefix))
    stack.callback(shutil.rmtree, base, ignore_errors=True)
    workdir = base / "server"
    workdir.mkdir()
    executable = pg_ctl
    if os.geteuid() == 0:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            _postgres_unavailable(
                "running as root, and there is no `postgres` system user to run the server "
                "as (`apt-get install postgresql` creates it; or `useradd --system postgres`)"
            )
        base.chmod(0o755)
        os.chown(workdir, user.pw_uid, user.pw_gid)
        executable = _pg_ctl_as(user, pg_ctl, base / "pg_ctl-as-postgres", workdir)
    datadir = workdir / "data"
    watchdog = subprocess.Popen(
        [sys.executable, "-I", "-c", _WATCHDOG, executable, str(datadir), str(base)],
        stdin=subprocess.PIPE,
        start_new_session=True,
    )
    assert watchdog.stdin is not None
    stack.callback(watchdog.wait, timeout=30)
    stack.callback(watchdog.stdin.close)
    return PostgreSQLExecutor(
        executable=executable,
        host="127.0.0.1",
        port=_free_port(),
        datadir=str(datadir),
        unixsocketdir=str(workdir),
        logfile=str(workdir / "postgresql.log"),
        startparams="-w",
        dbname=dbname,
        user="postgres",
        postgres_options=PG_SERVER_OPTIONS,
    )


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Start a real PostgreSQL server for the session; stop and delete it at the end.

    Built on pytest-postgresql's `PostgreSQLExecutor` (the engine of its `postgresql_proc`
    fixture: initdb, ``pg_ctl start -w``, ``pg_ctl stop``), but not on the `postgresql_proc`
    factory itself, because CI runs as root and initdb/postgres refuse to run as root:

    * the factory puts the data directory under pytest's basetemp, whose parents are
      root-only (0700), so the ``postgres`` user could not even reach it;
    * its pg_ctl path is fixed when conftest is imported, before we can write a wrapper.

    So when euid is 0 the directory is a fresh temp dir owned by the ``postgres`` system user
    and every pg_ctl call (initdb, start, status, stop) goes through a wrapper that drops to
    that user. As a normal user pg_ctl runs directly.
    """
    with ExitStack() as stack:  # unwinds: stop server, remove files, release the watchdog
        executor = _executor(stack, "maxim-pg-", "maxim_test")
        try:
            executor.start()
        except Exception as exc:
            log_path = Path(executor.logfile)
            log_tail = log_path.read_text()[-3000:] if log_path.exists() else "(no log)"
            raise RuntimeError(f"PostgreSQL did not start ({exc}); log:\n{log_tail}") from exc
        stack.callback(executor.stop)
        server = PostgresServer(host=executor.host, port=executor.port)
        server.wait_until_ready()
        yield server


_database_numbers = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL (postgresql+asyncpg) of a fresh, empty database, dropped after the test."""
    name = f"maxim_test_{next(_database_numbers)}"
    postgres_server.admin_execute(f'CREATE DATABASE "{name}"')
    yield postgres_server.url(name)
    postgres_server.admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class StoppablePostgres(PostgresServer):
    """A server of one test's own (own data directory, own port) that it may stop and start.

    For outage tests: the session server is shared, and stopping it would fail every other
    test. `stop` is ``pg_ctl stop -m fast`` (clients are disconnected, as on a restart);
    `start` brings the same data back on the same port. Both call pg_ctl directly: the
    executor's own `stop` also signals the process group of a `pg_ctl start` that exited
    long ago, which is no business of a test that stops and starts its server repeatedly.
    """

    executor: Any = None  # pytest_postgresql's PostgreSQLExecutor, loaded only when needed

    def stop(self) -> None:
        """Stop the server (fast shutdown: open connections are cut)."""
        self._pg_ctl("stop", "-D", self.executor.datadir, "-m", "fast", "-w")

    def start(self) -> None:
        """Start it (again) and wait until it accepts connections."""
        self._pg_ctl(*self.executor.command_parts[1:])  # the executor's `pg_ctl start -w ...`
        self.wait_until_ready()

    def running(self) -> bool:
        """Whether pg_ctl finds the server running."""
        return bool(self.executor.running())

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [self.executor.executable, *args], check=True, capture_output=True, timeout=60
        )


@pytest.fixture
def stoppable_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoppablePostgres]:
    """A PostgreSQL server for this test alone, with a database ``maxim``; see `StoppablePostgres`.

    Set up like `postgres_server` (a wrapper drops to the ``postgres`` user when run as root;
    a watchdog stops the server if the session dies), but function-scoped.
    """
    with ExitStack() as stack:
        executor = _executor(stack, "maxim-pg-own-", "maxim")
        executor.init_directory()  # initdb
        server = StoppablePostgres(executor.host, executor.port, executor=executor)
        server.start()
        stack.callback(lambda: server.stop() if server.running() else None)
        server.admin_execute('CREATE DATABASE "maxim"')
        yield server
