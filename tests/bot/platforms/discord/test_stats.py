"""`/maxim stats` on Discord end to end: discord.py against the loopback Discord.

A command and a Post are counted for the server (guild) they come from, and the summary is
for the asker alone. Storage is real SQLite; counting is waited for, never slept on.
"""

from __future__ import annotations

from bot.preview import ACTION_POST
from tests.bot.platforms.discord.helpers import (
    client_of,
    custom_ids,
    make_service,
    run_command,
    running,
    settings_for,
)


async def test_stats_count_commands_and_posts_and_answer_privately(fake, storage, clock):
    service = make_service(storage, clock)
    async with running(settings_for(fake), service) as platform:
        client = client_of(platform)
        preview = await run_command(fake, client, "maxim", {"query": "34"})
        [post_id] = [c for c in custom_ids(preview) if ACTION_POST in c]
        await fake.wait_for_callback(await fake.send_component(post_id))
        await fake.wait_for_messages(1)
        await fake.wait_for(  # the preview goes once the share is counted
            lambda: any(w.action == "delete" for w in fake.webhook_messages), description="deleted"
        )
        await run_command(fake, client, "maxim", {"query": "34"})
        await run_command(fake, client, "maxim", {"query": "7"})
        assert service.stats is not None
        assert await service.stats.background.drain(10)

        answer = await run_command(fake, client, "maxim", {"query": "stats"})

    assert answer.ephemeral
    assert answer.content is not None
    assert "maxims asked for: 3 · 3" in answer.content
    assert "maxims shared: 1 · 1" in answer.content
    assert "34. If you’re seeing NaN" in answer.content
    assert "(2×)" in answer.content
    assert str(fake.default_user_id) not in answer.content
