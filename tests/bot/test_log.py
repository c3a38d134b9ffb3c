"""Logging: secrets never reach the log, not even inside a traceback."""

import io
import logging

from bot.log import RedactSecrets, report_failure

TOKEN = "xoxb-123456-secret-token"


def make_logger():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets([TOKEN]))
    log = logging.getLogger("test_log_redaction")
    log.handlers = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return log, stream


def test_secrets_are_blanked_in_messages_and_arguments():
    log, stream = make_logger()
    log.info("token is %s", TOKEN)
    message = "inline " + TOKEN  # as a library that builds its own strings would
    log.info(message)
    assert TOKEN not in stream.getvalue()
    assert stream.getvalue().count("***") == 2


def test_secrets_are_blanked_in_tracebacks():
    log, stream = make_logger()
    try:
        raise RuntimeError(f"auth failed for {TOKEN}")
    except RuntimeError:
        apology = report_failure(log, "a handler")
    assert TOKEN not in stream.getvalue()
    assert "RuntimeError: auth failed for ***" in stream.getvalue()
    assert "RuntimeError" not in apology  # chat gets the reference only
    assert apology.startswith("Something went wrong on my side (ref ")
