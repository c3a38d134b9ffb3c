"""`log.format = "json"`: one object a line, redacted like the text format, tracebacks inside.

Both formats go through `setup_logging` as `maxim-bot` calls it; the last test runs the real
process and reads every line of its log as JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import subprocess

import pytest

from bot.log import report_failure, setup_logging
from tests.bot.bot_process import BOT_COMMAND, clean_env, starts_bot_process, write_config

TOKEN = "xoxb-123456-json-secret"


def log_lines(capsys) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_json_lines_carry_time_level_logger_message_and_extra_fields(capsys, restore_logging):
    setup_logging("INFO", [TOKEN], "json")
    logging.getLogger("bot.chat").info(
        "served %s on %s", "/maxim", "slack", extra={"platform": "slack", "channel": "C123"}
    )
    [line] = log_lines(capsys)
    entry = json.loads(line)
    assert entry.pop("time").endswith("Z")
    assert entry == {
        "level": "INFO",
        "logger": "bot.chat",
        "message": "served /maxim on slack",
        "platform": "slack",
        "channel": "C123",
    }


def test_json_time_is_iso_8601_utc(capsys, restore_logging):
    setup_logging("INFO", [], "json")
    logging.getLogger("bot").warning("now")
    [line] = log_lines(capsys)
    stamp = dt.datetime.fromisoformat(json.loads(line)["time"])
    assert stamp.utcoffset() == dt.timedelta(0)
    assert abs(dt.datetime.now(dt.UTC) - stamp) < dt.timedelta(minutes=5)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_both_formats_redact_messages_fields_and_tracebacks(capsys, restore_logging, log_format):
    setup_logging("INFO", [TOKEN], log_format)
    log = logging.getLogger("bot.test")
    log.info("token is %s", TOKEN, extra={"channel": f"leaked {TOKEN}"})
    try:
        raise RuntimeError(f"auth failed for {TOKEN}")
    except RuntimeError:
        report_failure(log, "a handler")
    err = "\n".join(log_lines(capsys))
    assert TOKEN not in err
    assert "token is ***" in err
    assert "RuntimeError: auth failed for ***" in err


def test_a_json_traceback_is_a_field_of_its_line(capsys, restore_logging):
    setup_logging("INFO", [], "json")
    try:
        raise ValueError("boom")
    except ValueError:
        report_failure(logging.getLogger("bot.test"), "a handler")
    [line] = log_lines(capsys)  # one line, not one per traceback line
    entry = json.loads(line)
    assert entry["level"] == "ERROR"
    assert entry["message"].startswith("a handler failed (ref ")
    assert entry["traceback"].startswith("Traceback (most recent call last):")
    assert entry["traceback"].endswith("ValueError: boom")


def test_text_stays_the_default(capsys, restore_logging):
    setup_logging("INFO", [])
    logging.getLogger("bot").info("plain")
    [line] = log_lines(capsys)
    assert line.endswith(" INFO    bot: plain")


@starts_bot_process
def test_the_bot_logs_json_lines_only(tmp_path):
    write_config(tmp_path, '[log]\nformat = "json"\n')
    done = subprocess.run(
        [*BOT_COMMAND, "run"],
        cwd=tmp_path,
        env=clean_env(),
        input="/maxim 34\nthe loss is NaN\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines()]
    assert {"maxim-bot running on console", "maxim-bot stopped"} <= {e["message"] for e in entries}
    [answered] = [e for e in entries if e["message"].startswith("rule nan answered")]
    assert (answered["platform"], answered["channel"]) == ("console", "console")
