"""A database that is not there when `maxim-bot run` starts: bounded retries, one line each.

PostgreSQL often comes up after the bot (a compose file, a reboot). The bot waits for it for
``storage.connect_timeout_seconds``, says where it tries and why it failed, and either starts
normally or gives up with one ERROR line and exit status 1; never a traceback, never the
password. What retrying cannot fix (no such database, a SQLite directory that cannot be
created) stops it at once with exit status 2.
"""

from __future__ import annotations

import socket

import pytest

from maxims import load_corpus
from tests.bot.bot_process import BotProcess, clean_env, starts_bot_process
from tests.bot.console_bot import ConsoleBot, write_storage_config

pytestmark = starts_bot_process
PASSWORD = "s3cret-pass-4711"


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused, as when PostgreSQL
    is not up yet)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def warnings_of(bot: BotProcess) -> list[str]:
    return [line for line in bot.text.splitlines() if " WARNING " in line]


async def test_an_unreachable_database_is_retried_then_one_error_and_exit_1(tmp_path):
    port = closed_port()
    url = f"postgresql+asyncpg://maxim:{PASSWORD}@127.0.0.1:{port}/maxim"
    write_storage_config(tmp_path, url, connect_timeout_seconds=3)
    bot = await BotProcess.start(tmp_path, clean_env(), "run")
    try:
        status, _ = await bot.end(timeout=60, terminate=False)
    finally:
        bot.kill()
    assert status == 1, bot.text
    error = bot.only_error()  # and no traceback
    assert f"cannot reach PostgreSQL at 127.0.0.1:{port}/maxim (ConnectionRefusedError" in error
    assert "gave up after" in error
    assert "storage.connect_timeout_seconds" in error
    attempts = warnings_of(bot)
    assert len(attempts) >= 2, bot.text  # retried, with backoff, within 3 s
    for n, line in enumerate(attempts, 1):
        assert f"cannot reach PostgreSQL at 127.0.0.1:{port}/maxim" in line
        assert "ConnectionRefusedError: " in line
        assert f"attempt {n}, retrying in " in line
    # The password is not written at all (not merely blanked by the log's redaction).
    assert PASSWORD not in bot.text
    assert "***" not in bot.text
    assert "maxim-bot running" not in bot.text


@pytest.mark.postgres
async def test_a_database_that_comes_up_during_the_retries_is_used(tmp_path, stoppable_postgres):
    stoppable_postgres.stop()
    url = stoppable_postgres.url("maxim").replace("postgres@", f"postgres:{PASSWORD}@")
    write_storage_config(tmp_path, url, connect_timeout_seconds=120)
    bot = await ConsoleBot.start(tmp_path)
    try:
        await bot.wait_for_line(f"cannot reach PostgreSQL at 127.0.0.1:{stoppable_postgres.port}")
        stoppable_postgres.start()
        await bot.wait_for_line("maxim-bot running on console", timeout=60)
        answer, _ = await bot.ask("/maxim 34")
        assert answer == f"maxim-bot: #34 {load_corpus().get(34).text}"
        status, _ = await bot.quit()
    finally:
        bot.kill()
    assert status == 0, bot.text
    assert warnings_of(bot), bot.text
    assert " ERROR " not in bot.text
    assert "Traceback" not in bot.text
    assert PASSWORD not in bot.text


@pytest.mark.postgres
async def test_a_missing_database_stops_at_once_with_exit_2(tmp_path, postgres_server):
    # A short timeout, so that a server that is down fails this test soon, and clearly.
    write_storage_config(
        tmp_path, postgres_server.url("no_such_database"), connect_timeout_seconds=5
    )
    bot = await BotProcess.start(tmp_path, clean_env(), "run")
    try:
        status, _ = await bot.end(timeout=60, terminate=False)
    finally:
        bot.kill()
    assert status == 2, bot.text
    error = bot.only_error()
    assert f"cannot use PostgreSQL at 127.0.0.1:{postgres_server.port}/no_such_database" in error
    assert 'InvalidCatalogNameError: database "no_such_database" does not exist' in error
    assert warnings_of(bot) == []  # not retried: waiting would not create it


async def test_a_sqlite_directory_that_cannot_be_created_stops_with_one_line(tmp_path):
    (tmp_path / "a-file").write_text("")
    write_storage_config(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'a-file' / 'db' / 'bot.db'}")
    bot = await BotProcess.start(tmp_path, clean_env(), "run")
    try:
        status, _ = await bot.end(timeout=60, terminate=False)
    finally:
        bot.kill()
    assert status == 2, bot.text
    assert bot.only_error().endswith(
        f"storage.url: cannot create the directory {tmp_path / 'a-file' / 'db'} for the SQLite "
        "file (NotADirectoryError: Not a directory)"
    )
