"""What went wrong with the database: the errors of opening it, and telling an outage from a bug.

At start, `StorageOpenError` and its kinds carry one log line (where, why, no secret) and the
exit status. While running, `describe_outage` tells the error boundaries that an error means
the database cannot be reached now (one log line), not a bug (a traceback).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Final

import sqlalchemy as sa


class StorageOpenError(Exception):
    """Storage could not be opened at start; the message is one log line, with no secret."""

    exit_status = 1


class StorageUnavailable(StorageOpenError):
    """The database stayed unreachable for the whole connect timeout (it may come back)."""


class StorageRefused(StorageOpenError):
    """The database cannot be used as configured: retrying would not help, so stop at once.

    No such database, a SQLite directory that cannot be created: exit status 2, as for any
    other configuration that cannot work.
    """

    exit_status = 2


def _causes(error: BaseException) -> Iterator[BaseException]:
    """`error`, the driver error it wraps, and what caused it, in that order (no loops)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [error]
    while todo:
        link = todo.pop(0)
        if link is None or id(link) in seen or len(seen) > 20:
            continue
        seen.add(id(link))
        yield link
        orig = getattr(link, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None]
        todo += [link.__cause__, link.__context__]


def short_error(error: BaseException) -> str:
    """``Class: first line of the message`` (shortened), for a single log line.

    SQLAlchemy's wrappers (and its asyncpg adapter's) repeat the driver's error in a longer
    form: the driver's own error below them is named instead.
    """
    if type(error).__module__.startswith("sqlalchemy"):
        inner = (c for c in _causes(error) if not type(c).__module__.startswith("sqlalchemy"))
        error = next(inner, error)
    text = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _is_outage(error: BaseException) -> bool:
    if isinstance(error, OSError | sa.exc.TimeoutError):  # refused, timed out, pool exhausted
        return True
    if isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, sqlite3.OperationalError):
        return "locked" in str(error)
    if type(error).__module__.startswith("asyncpg"):
        from asyncpg import exceptions as pg

        outage = (
            pg.PostgresConnectionError,  # the connection broke
            pg.OperatorInterventionError,  # shutting down, starting up, cancelled
            pg.TooManyConnectionsError,
        )
        return isinstance(error, outage) or "connection is closed" in str(error)
    return False


DATABASE_MODULES: Final = ("sqlalchemy", "asyncpg", "aiosqlite", "sqlite3", "bot.storage")


def _touches_database(error: BaseException) -> bool:
    """Whether `error` is a database library's, or was raised on its way through one.

    A refused connection is an `OSError` like any network error; only one that came from
    the database is an outage of it (a Slack call failing is not).
    """
    if type(error).__module__.startswith(DATABASE_MODULES):
        return True
    frame = error.__traceback__
    while frame is not None:
        if str(frame.tb_frame.f_globals.get("__name__", "")).startswith(DATABASE_MODULES):
            return True
        frame = frame.tb_next
    return False


def describe_outage(error: BaseException) -> str | None:
    """``ConnectionRefusedError: ...`` when `error` means the database cannot be reached now.

    None for anything else (a constraint, a bug, another service's network error): those
    deserve a traceback. The error boundaries use this to log an outage as one line, and
    the answers that can go on without storage use it to decide that they may.
    """
    links = list(_causes(error))
    if not any(_touches_database(link) for link in links):
        return None
    return next((short_error(link) for link in links if _is_outage(link)), None)
