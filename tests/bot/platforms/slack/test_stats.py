"""`/maxim stats` on Slack end to end: the real slack-bolt app against the loopback emulator.

The command and Send are counted for the workspace they come from, and the summary is an
answer for the asker alone. Storage is real SQLite; counting is waited for, never slept on.
"""

from __future__ import annotations

import json
from typing import Any

from bot.preview import ACTION_POST
from tests.bot.platforms.slack.helpers import Bot, make_service, settings_for


def buttons(message: dict[str, Any]) -> dict[str, str]:
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    return {e["text"]["text"]: e for e in actions["elements"]}


async def test_stats_count_commands_and_sends_and_answer_privately(fake, storage):
    service = make_service(storage)
    bot = Bot(fake, settings_for(fake), service)
    value = buttons(await bot.command("3"))["Send"]["value"]
    await bot.click(ACTION_POST, value, user="U7")
    await bot.command("3")
    await bot.command("2")
    assert service.stats is not None
    assert await service.stats.background.drain(10)

    answer = await bot.command("stats")

    assert answer["response_type"] == "ephemeral"
    text = json.dumps(answer, ensure_ascii=False)
    assert "maxims asked for: 3 · 3" in text
    assert "maxims shared: 1 · 1" in text
    assert "(2×)" in text
    assert "U7" not in text and "U1" not in text
    other = await bot.command("stats", team_id="T0OTHER")
    assert "maxims asked for: 0 · 0" in json.dumps(other, ensure_ascii=False)


async def test_the_home_tab_shows_the_workspaces_stats(fake, storage):
    from tests.fakes.slack.blockkit import view_problem
    from tests.fakes.slack.payloads import app_home_opened_event, event_body

    service = make_service(storage)
    bot = Bot(fake, settings_for(fake), service)
    await bot.command("3")
    await bot.command("3")
    assert service.stats is not None
    assert await service.stats.background.drain(10)

    response = await bot.dispatch(event_body(app_home_opened_event("U1", "home"), event_id="Ev1"))
    assert response.status == 200
    await bot.settle()

    view = bot.fake.home_views["U1"]
    assert view_problem(view) is None
    text = json.dumps(view, ensure_ascii=False)
    assert "maxims asked for: 2 · 2" in text
    assert "(2×)" in text
