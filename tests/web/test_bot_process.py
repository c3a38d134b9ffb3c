"""`maxim-bot run` serves the pages: alone (the console off), and exits 2 when it cannot listen."""

from __future__ import annotations

import re
import socket

from tests.bot.bot_process import BotProcess, clean_env, starts_bot_process, write_config
from tests.web.reading import Page, ask

pytestmark = starts_bot_process

PAGES_ONLY = """
[console]
enabled = false

[web]
enabled = true
port = {port}
public_url = "https://maxims.example.org"
contact = "maxims@example.org"
"""


async def test_run_serves_the_pages_alone_until_stopped(tmp_path):
    write_config(tmp_path, PAGES_ONLY.format(port=0))
    bot = await BotProcess.start(tmp_path, clean_env(), "run")
    try:
        await bot.wait_for_line("maxim-bot running on web")
        [port] = re.findall(r"pages on http://127\.0\.0\.1:(\d+), public at ", bot.text)
        base = f"http://127.0.0.1:{port}"
        home = Page(ask(base, "/").text)
        assert home.all("link", rel="canonical")[0]["href"] == "https://maxims.example.org/"
        assert not home.all("a", class_="button")  # neither Slack OAuth nor a Discord id
        assert "maxims@example.org" in ask(base, "/support").text
        assert ask(base, "/cards/34.png").headers["content-type"] == "image/png"
        status, _ = await bot.end()
    finally:
        bot.kill()
    assert status == 0, bot.text
    assert "Traceback" not in bot.text


async def test_run_exits_2_naming_the_keys_when_the_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        write_config(tmp_path, PAGES_ONLY.format(port=taken.getsockname()[1]))
        bot = await BotProcess.start(tmp_path, clean_env(), "run")
        try:
            status, _ = await bot.end(terminate=False)
        finally:
            bot.kill()
    assert status == 2
    assert "change web.host / web.port" in bot.only_error()
