"""The emulator's chat.postMessage limits: a throttled workspace, and a second per channel."""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from tests.fakes.slack.api import FakeSlack
from tests.helpers import Seconds

T2_TOKEN = "xoxb-t2"


@pytest.fixture
async def fake():
    async with FakeSlack(channels=["C1", "C2"], clock=Seconds()) as server:
        server.add_workspace("T2", channels=["C3"], bot_token=T2_TOKEN)
        yield server


async def status_of(client, channel: str) -> tuple[int, str | None]:
    try:
        await client.chat_postMessage(channel=channel, text="hi")
    except SlackApiError as err:
        return err.response.status_code, err.response.headers.get("Retry-After")
    return 200, None


async def test_a_throttled_workspace_answers_429_until_its_time_and_no_other_does(fake):
    fake.throttle("T2", seconds=45)
    t2 = fake.web_client(T2_TOKEN)

    assert await status_of(t2, "C3") == (429, "45")
    assert await status_of(fake.web_client(), "C1") == (200, None)
    fake.clock.advance(44.5)
    assert await status_of(t2, "C3") == (429, "1")
    fake.clock.advance(0.5)
    assert await status_of(t2, "C3") == (200, None)
    assert [c.at - fake.calls[0].at for c in fake.calls] == [0, 0, 44.5, 45]


async def test_a_channel_takes_one_post_a_second(fake):
    fake.post_rate_limit()
    client = fake.web_client()

    assert await status_of(client, "C1") == (200, None)
    assert await status_of(client, "C1") == (429, "1")
    assert await status_of(client, "C2") == (200, None)  # another channel: its own second
    fake.clock.advance(1)
    assert await status_of(client, "C1") == (200, None)
    assert len(fake.channel_messages("C1")) == 2


async def test_a_workspace_throttled_all_along_always_says_the_same_wait(fake):
    fake.throttle("T2", seconds=3600, retry_after=30)
    t2 = fake.web_client(T2_TOKEN)

    assert await status_of(t2, "C3") == (429, "30")
    fake.clock.advance(3000)
    assert await status_of(t2, "C3") == (429, "30")
