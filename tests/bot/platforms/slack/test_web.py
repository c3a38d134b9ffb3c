"""What Slack's errors mean to the bot, and the Web API client it builds.

Errors come from the real slack_sdk client answering the emulator, not from hand-made objects.
"""

from __future__ import annotations

import pytest
from slack_sdk.errors import SlackApiError

from bot.platforms.slack.web import build_web_client, error_code, post_error
from bot.poster import ChannelUnavailable, PostError, RateLimited
from tests.bot.platforms.slack.helpers import BOT_TOKEN, settings_for
from tests.fakes.slack.api import FakeSlack


async def failure(fake: FakeSlack) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await fake.web_client().chat_postMessage(channel="C1", text="x")
    return caught.value


def test_the_client_talks_to_the_configured_url_with_the_bot_token(fake):
    settings = settings_for(fake)

    client = build_web_client(settings.slack, settings.secrets)

    assert client.base_url == fake.url
    assert client.token == BOT_TOKEN
    kinds = sorted(type(handler).__name__ for handler in client.retry_handlers)
    assert kinds == [
        "AsyncConnectionErrorRetryHandler",
        "AsyncRateLimitErrorRetryHandler",
        "AsyncServerErrorRetryHandler",
    ]


async def test_the_client_retries_a_server_error(fake):
    settings = settings_for(fake)
    fake.server_error_next("auth.test", status=503)

    await build_web_client(settings.slack, settings.secrets).auth_test()

    assert [c.status for c in fake.calls_to("auth.test")] == [503, 200]


@pytest.mark.parametrize("code", ["not_in_channel", "channel_not_found", "is_archived"])
async def test_a_channel_the_bot_cannot_use_is_unavailable(fake, code):
    fake.fail_next("chat.postMessage", code)

    error = post_error(await failure(fake))

    assert isinstance(error, ChannelUnavailable)
    assert error.reason == code


async def test_a_rate_limit_carries_slacks_wait(fake):
    fake.rate_limit_next("chat.postMessage", retry_after=12)

    error = post_error(await failure(fake))

    assert isinstance(error, RateLimited)
    assert error.retry_after == 12.0


async def test_any_other_error_is_a_plain_post_error_with_its_code(fake):
    fake.fail_next("chat.postMessage", "msg_too_long")

    err = await failure(fake)
    error = post_error(err)

    assert error_code(err) == "msg_too_long"
    assert type(error) is PostError
    assert error.reason == "msg_too_long"
