"""Hostile chat text against the whole bot in HTTP mode: one message must not freeze it.

A message of Slack's maximum length built to defeat the NaN scan's cheap paths used to block
the event loop for about 10 s, so the next `/maxim` missed Slack's 3 s acknowledgement. The
emulator enforces that deadline (`FakeSlack.deliver` records late answers in `http_timeouts`).
"""

from __future__ import annotations

import json
import socket

from tests.bot.bot_process import BotProcess, clean_env, starts_bot_process, write_config
from tests.bot.platforms.slack.helpers import BOT_TOKEN, SECRET
from tests.fakes.slack.payloads import event_body, message_event, slash_command_body

HOSTILE = "nan " * 10_000  # 40,000 characters: Slack's maximum message length


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@starts_bot_process
async def test_a_40k_nan_message_does_not_delay_the_next_command(fake, tmp_path):
    port = free_port()
    write_config(tmp_path, f'[slack]\nmode = "http"\nhttp_port = {port}\n')
    env = clean_env(SLACK_API_URL=fake.url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SECRET)
    bot = await BotProcess.start(tmp_path, env, "run")
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        await bot.wait_for_line("maxim-bot running on slack")
        hostile = await fake.deliver(url, event_body(message_event(HOSTILE)), SECRET)
        answers = [await fake.deliver(url, slash_command_body(n), SECRET) for n in "234"]
        code, _ = await bot.end()
    finally:
        bot.kill()

    assert hostile is not None and hostile[0] == 200
    assert fake.http_timeouts == []  # every request was answered within Slack's 3 s
    for number, answer in zip("234", answers, strict=True):
        assert answer is not None
        assert json.loads(answer[1])["text"].startswith(f"Preview. Maxim {number}:")
    assert code == 0, bot.text
    assert "Traceback" not in bot.text
