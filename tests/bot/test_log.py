"""Logging: secrets never reach the log, not even inside a traceback; one record, one line."""

import io
import json
import logging

import pytest

from bot.log import JsonFormatter, RedactSecrets, TextFormatter, report_failure

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


@pytest.mark.parametrize(
    ("logged", "secret"),
    [
        ("bot token xoxb-1234-5678-abcdEFGH", "xoxb-1234-5678-abcdEFGH"),
        ("user token xoxp-1-2-3-abc", "xoxp-1-2-3-abc"),
        ("rotating xoxe.xoxb-1-MS0yLTIyMjI", "xoxe.xoxb-1-MS0yLTIyMjI"),
        ("refresh xoxe-1-My0xLTIyMjI", "xoxe-1-My0xLTIyMjI"),
        ("app xapp-1-A111-222-abc", "xapp-1-A111-222-abc"),
        ("GET /slack/oauth_redirect?code=123.456.abc&state=s1.s2.s3", "123.456.abc"),
        ("GET /slack/oauth_redirect?code=123.456.abc&state=s1.s2.s3", "s1.s2.s3"),
        ("data: {'code': '123.456.abc', 'redirect_uri': None}", "123.456.abc"),
        ("request: {'code': ['123.456.abc'], 'state': ['s1']}", "123.456.abc"),
        ("Failed to fetch oauth.v2.access result with code: 123.abc - error", "123.abc"),
        ('{"client_secret": "0a1b2c3d4e", "client_id": "1.2"}', "0a1b2c3d4e"),
        ("grant_type=refresh_token&refresh_token=opaque-r3fresh&client_secret=s3cr3t", "opaque"),
        ("grant_type=refresh_token&refresh_token=opaque-r3fresh&client_secret=s3cr3t", "s3cr3t"),
        ("{'access_token': 'opaque-acc355', 'ok': True}", "opaque-acc355"),
        ("headers: {'Authorization': 'Basic MTExMTpzZWNyZXQ='}", "MTExMTpzZWNyZXQ="),
        ("headers: {'Authorization': 'Bearer opaque-b34rer'}", "opaque-b34rer"),
    ],
)
def test_anything_shaped_like_an_oauth_secret_is_blanked(logged, secret):
    log, stream = make_logger()
    log.debug("%s", logged)
    assert secret not in stream.getvalue()
    assert "***" in stream.getvalue()


def test_ordinary_words_are_left_alone():
    log, stream = make_logger()
    text = "token refresh failed for team T1: invalid_refresh_token; exit code 2; state is fine"
    log.info(text)
    assert stream.getvalue() == text + "\n"


def text_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    log = logging.getLogger("test_log_text")
    log.handlers = [handler]
    log.propagate = False
    log.setLevel(logging.DEBUG)
    return log, stream


BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # every one str.splitlines() breaks at


def test_control_characters_in_a_text_log_line_are_escaped():
    log, stream = text_log()
    template = "saw %s" + BREAKS  # the message itself, not only its arguments
    log.info(template, f"a{BREAKS}\x1b[31mred\x00\x7f")
    [line] = stream.getvalue().splitlines()
    assert line.endswith(
        "saw a\\n\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\x85\\u2028\\u2029\\x1b[31mred\\x00\\x7f"
        "\\n\\r\\x0b\\x0c\\x1c\\x1d\\x1e\\x85\\u2028\\u2029"
    )


def test_a_traceback_in_a_text_log_is_indented_and_escaped_line_by_line():
    log, stream = text_log()
    try:
        raise ValueError("bad\n2026-01-01 00:00:00,000 CRITICAL bot: forged\u2028too")
    except ValueError:
        log.exception("failed")
    first, *rest = stream.getvalue().splitlines()
    assert first.endswith("ERROR   test_log_text: failed")
    assert rest[0] == "    Traceback (most recent call last):"
    assert all(line.startswith("    ") for line in rest)
    assert "    2026-01-01 00:00:00,000 CRITICAL bot: forged\\u2028too" in rest


def test_a_json_log_line_holds_no_line_break_at_all():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("test_log_json_breaks")
    log.handlers = [handler]
    log.propagate = False
    log.warning("saw %s", BREAKS + "\x9b31m\x7f", extra={"channel": BREAKS})
    [line] = stream.getvalue().splitlines()
    assert "\x9b" not in line  # a terminal's escape (CSI), even in a JSON log
    entry = json.loads(line)
    assert (entry["message"], entry["channel"]) == (f"saw {BREAKS}\x9b31m\x7f", BREAKS)
