"""A database outage is logged as one line (what failed and the error), never a traceback.

The end-to-end tests (tests/bot/storage/test_outages.py) see this through a real bot; here the
two ways it happens are pinned down one by one: our boundaries (`report_failure`) and the
filter that shortens libraries' own logs (SQLAlchemy's pool, closing a connection to a host
that stopped answering, which does not happen on every run of the end-to-end test).
"""

import io
import logging

import pytest
import sqlalchemy as sa

from bot.log import OutageInOneLine, report_failure


@pytest.fixture
def logged():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(OutageInOneLine())
    log = logging.getLogger("test_outage_logging")
    log.handlers = [handler]
    log.propagate = False
    return log, stream


def refused() -> BaseException:
    """A refused connection as SQLAlchemy raises it: the driver's error inside its wrapper."""
    try:
        try:
            raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 5432)")
        except ConnectionRefusedError as err:
            raise sa.exc.OperationalError("SELECT 1", {}, err) from err
    except sa.exc.OperationalError as wrapped:
        return wrapped


def test_a_library_logging_an_outage_writes_one_line(logged):
    log, stream = logged
    log.error("Exception closing connection", exc_info=refused())
    assert stream.getvalue().splitlines() == [
        "Exception closing connection (ConnectionRefusedError: [Errno 111] Connect call failed "
        "('127.0.0.1', 5432))"
    ]


def test_a_bug_keeps_its_traceback(logged):
    log, stream = logged
    try:
        {}["number"]
    except KeyError:
        log.exception("handler failed")
    assert stream.getvalue().startswith("handler failed\nTraceback (most recent call last):")
    assert stream.getvalue().endswith("KeyError: 'number'\n")


def test_report_failure_logs_an_outage_in_one_line(logged):
    log, stream = logged
    log.handlers[0].filters.clear()  # our boundary says it on its own
    try:
        raise refused()
    except sa.exc.OperationalError:
        apology = report_failure(log, "daily sweep")
    (line,) = stream.getvalue().splitlines()
    assert line.startswith("daily sweep failed (ref ")
    assert line.endswith(
        "): the database is unreachable (ConnectionRefusedError: [Errno 111] Connect call "
        "failed ('127.0.0.1', 5432))"
    )
    assert apology.startswith("Something went wrong on my side (ref ")


def test_a_network_error_elsewhere_is_not_a_database_outage(logged):
    log, stream = logged
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('slack.com', 443)")
    except ConnectionRefusedError:
        report_failure(log, "slack command")
    assert "Traceback (most recent call last)" in stream.getvalue()
    assert "the database is unreachable" not in stream.getvalue()
