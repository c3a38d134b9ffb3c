"""Logging set-up: the one place handlers are configured (`setup_logging`).

Also a filter that blanks secrets from every record, as a second line of defence: we never
log tokens on purpose, but at DEBUG slack_sdk prints every request and answer, and Bolt every
OAuth callback. It blanks the secrets configured in the environment and, since OAuth hands
out secrets the environment never held, anything shaped like one: Slack tokens of every kind
(``xoxb-``, ``xoxp-``, refresh tokens ``xoxe-``, rotating ``xoxe.xoxb-``, ``xapp-``), and the
value of a field named like a secret (``code=``, ``'client_secret': '...'``,
``"refresh_token": "..."``, ``state``, HTTP Basic credentials) in a URL, a form body, JSON or
a Python repr. The filter runs before either format (``text`` for people, ``json`` for log
collectors), so both are redacted alike.

Both formats also keep one record on one line whatever a value holds: the text format escapes
control characters (a newline in an OAuth ``code`` would otherwise forge a log line), and the
JSON format escapes the controls and line separators `json` leaves raw.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import sys
import threading
from collections.abc import Iterable
from types import TracebackType

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
NOISY = (
    "discord.http",
    "discord.gateway",
    "discord.client",
    "slack_sdk",
    "slack_bolt",
    "apscheduler",
    "aiosqlite",
    "asyncio",
    "sqlalchemy",
    "alembic",
)


# Slack's tokens, whatever their kind: bot, user, app-level, refresh and rotating ones
# (``xoxe.xoxb-...``: the first dot joins the two parts).
_SLACK_TOKEN = re.compile(r"x(?:ox[a-z]|app)[.-][A-Za-z0-9.-]+")
# The value of a field named like a secret: `code=...&`, `'code': '...'`, `"state": "..."`,
# `code: ...` (Bolt's own warning), and HTTP Basic or Bearer credentials in a header.
_NAMED_SECRET = re.compile(
    r"""(?x)
    (\b(?:client_secret|code|state|password|(?:bot_|user_)?(?:refresh_|access_)?token)
     ["']?\s*[:=]\s*\[?["']?   # a query parsed into lists: 'code': ['...']
    |\b(?:[Bb]asic|[Bb]earer)\s+)
    [^\s"'&,;}\]]+
    """
)


def _may_hold_a_secret(text: str) -> bool:
    """Whether `text` mentions a secret's shape at all: most lines do not, and this is cheap.

    The regular expressions cost some 10 µs a line; these tests, about 1.
    """
    return (
        "xox" in text
        or "xapp" in text
        or "code" in text
        or "state" in text
        or "secret" in text
        or "token" in text
        or "password" in text
        or "asic " in text
        or "earer " in text
    )


class RedactSecrets(logging.Filter):
    """Replaces each secret with ``***`` in the message, traceback and extra fields.

    The secrets are the `values` given (those of the environment) and anything shaped like an
    OAuth secret (see the module docstring).
    """

    def __init__(self, values: Iterable[str]) -> None:
        super().__init__()
        self.values = [v for v in values if len(v) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Tracebacks are formatted after filters run: format (and redact) them here.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and isinstance(value, str):
                setattr(record, key, self.redact(value))  # fields passed with `extra=`
        return True

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by ``***``."""
        for value in self.values:
            text = text.replace(value, "***")
        if not _may_hold_a_secret(text):
            return text
        text = _SLACK_TOKEN.sub("***", text)
        return _NAMED_SECRET.sub(r"\1***", text)


class OutageInOneLine(logging.Filter):
    """Turns a logged database outage into one line: the message and the error, no traceback.

    For libraries' own logs (SQLAlchemy's pool logs a traceback when it cannot close a
    connection to a host that stopped answering); our boundaries use `report_failure`.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Drop the traceback of an outage, keeping its description; never drops a record."""
        error = record.exc_info[1] if record.exc_info else None
        outage = _storage_outage(error)
        if outage is not None:
            record.msg, record.args = f"{record.getMessage()} ({outage})", None
            record.exc_info, record.exc_text = None, None
        return True


# The attributes every LogRecord has; anything else came in through `extra=`.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
}


# Characters that break a line or drive a terminal: C0 and C1 controls, DEL, and Unicode's
# line and paragraph separators (`str.splitlines` breaks on several of them).
_CONTROLS = [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
_ESCAPES = {c: repr(chr(c))[1:-1] for c in _CONTROLS} | {0x2028: "\\u2028", 0x2029: "\\u2029"}
_CONTROL = re.compile("[" + "".join(map(chr, _CONTROLS)) + "]")
# What `json` leaves raw: DEL, the C1 controls (NEL breaks lines) and U+2028/2029.
_JSON_RAW = [0x7F, *range(0x80, 0xA0), 0x2028, 0x2029]
_JSON_ESCAPES = {c: f"\\u{c:04x}" for c in _JSON_RAW}
_JSON_CONTROL = re.compile("[" + "".join(map(chr, _JSON_RAW)) + "]")


def escape_controls(text: str) -> str:
    r"""`text` on one line: each control character written as its escape (``\n``, ``\x1b``)."""
    return text.translate(_ESCAPES) if _CONTROL.search(text) else text


class TextFormatter(logging.Formatter):
    """`FORMAT`, one line a record: control characters in the message are escaped.

    The message is escaped once its arguments are in, so a value from outside (an OAuth
    ``code``, a channel name) cannot start a line that looks like a record of its own. A
    traceback keeps its lines, but each is escaped within itself and indented, so none of
    them can pass for a record either (an exception's message may hold any text).
    """

    def __init__(self) -> None:
        super().__init__(FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        """The record's line, then its traceback and stack (if any), indented."""
        record.message = escape_controls(record.getMessage())
        record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        stack = self.formatStack(record.stack_info) if record.stack_info else ""
        for block in (record.exc_text, stack):
            if block:
                text += "".join("\n    " + escape_controls(line) for line in block.split("\n"))
        return text


class JsonFormatter(logging.Formatter):
    """One JSON object a line, for log collectors: a traceback is a field, never extra lines.

    Fields: ``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message``, then whatever the
    call passed with ``extra=`` (``platform``, ``channel``...), and ``traceback`` if any.
    """

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update((k, v) for k, v in vars(record).items() if k not in _RECORD_FIELDS)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        line = json.dumps(entry, ensure_ascii=False, default=str)
        # json escapes C0 controls only; readers split lines at NEL and U+2028/2029 too.
        return line.translate(_JSON_ESCAPES) if _JSON_CONTROL.search(line) else line


def setup_logging(
    level: str = "INFO", secret_values: Iterable[str] = (), log_format: str = "text"
) -> None:
    """Log to stderr at `level` in `log_format`; SDK loggers stay at WARNING unless we debug."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    handler.addFilter(OutageInOneLine())
    handler.addFilter(RedactSecrets(secret_values))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY:
        logging.getLogger(name).setLevel(level if level == "DEBUG" else "WARNING")
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def _log_uncaught(
    kind: type[BaseException], error: BaseException, traceback: TracebackType | None
) -> None:
    """Log an exception that escaped everything (even `asyncio.run`) through the handler.

    Python would otherwise print it to stderr itself, past the redacting filter.
    """
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, error, traceback)
        return
    logging.getLogger("bot").critical(
        "the bot stopped on an error", exc_info=(kind, error, traceback)
    )


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is not None:
        _log_uncaught(args.exc_type, args.exc_value, args.exc_traceback)


def error_reference() -> str:
    """A short reference that ties a chat apology to the log line with the traceback."""
    return secrets.token_hex(3)


def report_failure(log: logging.Logger, what: str) -> str:
    """Log the exception being handled with a reference; return the apology for chat.

    The apology carries no exception text: that stays in the log, for us. A database outage
    is logged as one line without a traceback: it is expected, says all there is to say, and
    a sweep failing every minute of an outage would otherwise bury the log in tracebacks.
    """
    ref = error_reference()
    outage = _storage_outage(sys.exc_info()[1])
    if outage is not None:
        log.error("%s failed (ref %s): the database is unreachable (%s)", what, ref, outage)
    else:
        log.exception("%s failed (ref %s)", what, ref)
    return f"Something went wrong on my side (ref {ref}). Please try again in a moment."


def _storage_outage(error: BaseException | None) -> str | None:
    """`bot.storage.describe_outage`, without loading the database drivers to ask it."""
    if error is None or "bot.storage" not in sys.modules:  # no storage, no outage of it
        return None
    from bot.storage import describe_outage

    return describe_outage(error)
