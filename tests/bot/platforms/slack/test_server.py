"""HTTP mode: the aiohttp server in front of Bolt, on 127.0.0.1 with a free port.

Requests are signed like Slack's and sent over a real socket to the platform's server.
"""

from __future__ import annotations

import json
import time

from bot.config import ScheduleConfig
from bot.daily.scheduler import DailyScheduler
from bot.platforms.slack.lifecycle import SlackPlatform
from tests.bot.platforms.slack.helpers import (
    healthz,
    make_service,
    platform_for,
    post,
    settings_for,
)
from tests.fakes.slack.api import (
    app_mention_event,
    block_actions_body,
    event_body,
    slash_command_body,
    url_verification_body,
)


async def test_http_mode_serves_signed_requests_on_the_real_server(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="http"), storage))
    assert platform.port

    status, body = await post(
        platform.port, slash_command_body("2", response_url=fake.response_url())
    )
    challenge = await post(platform.port, url_verification_body("ch-42"))

    assert status == 200
    answer = json.loads(body)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Preview. Maxim 2:")
    assert challenge == (200, json.dumps({"challenge": "ch-42"}))


async def test_search_for_the_word_payload_works_over_http(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="http"), storage))

    status, body = await post(platform.port, slash_command_body("search payload"))

    assert status == 200  # bolt alone would misread the form and answer 404
    assert "“payload”" in json.loads(body)["text"]


async def test_bad_and_stale_signatures_are_refused_with_401(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="http"), storage))
    built = slash_command_body("2")

    forged = await post(platform.port, built, secret="not-the-secret")
    stale = await post(platform.port, built, timestamp=int(time.time()) - 600)
    via_dispatch = await platform.app.async_dispatch(
        built.bolt_request("not-the-secret")  # the same check without the server
    )

    assert forged[0] == stale[0] == via_dispatch.status == 401
    # Refused before bolt's authorization: only the start-up auth.test reached Slack.
    assert [call.method for call in fake.calls] == ["auth.test"]


async def test_buttons_and_events_over_http(fake, storage, started):
    platform = await started(platform_for(settings_for(fake, mode="http"), storage))

    clicked = await post(
        platform.port,
        block_actions_body("maxim_cancel", "number|2|0|", response_url=fake.response_url("b")),
    )
    mentioned = await post(platform.port, event_body(app_mention_event("3"), event_id="EvM"))
    [(_, removed)] = await fake.wait_for_response(name="b")
    [answer] = await fake.wait_for("chat.postMessage")

    assert clicked == (200, "")
    assert mentioned == (200, "")
    assert removed["delete_original"] is True
    assert answer.body["text"].startswith("Maxim 3:")


async def test_healthz_is_ok_only_while_serving_with_a_running_scheduler(fake, storage, started):
    service = make_service(storage)
    settings = settings_for(fake, mode="http")
    schedulers: list[DailyScheduler] = []
    platform = SlackPlatform(
        service,
        settings.slack,
        settings.secrets,
        healthy=lambda: bool(schedulers) and schedulers[0].running,
    )
    await started(platform)
    assert await healthz(platform.port) == 503  # no scheduler yet

    scheduler = DailyScheduler(
        storage=storage,
        posters={"slack": platform.poster},
        corpus=service.corpus,
        config=ScheduleConfig(),
        clock=service.clock,
    )
    schedulers.append(scheduler)
    await scheduler.start()
    try:
        assert await healthz(platform.port) == 200
        assert await platform.connected()
    finally:
        await scheduler.stop()
    assert await healthz(platform.port) == 503
    await platform.stop()
    assert not platform.healthy()
    assert not await platform.connected()
