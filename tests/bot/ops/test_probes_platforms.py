"""The probe server of real `maxim-bot run` processes on Slack (Socket Mode, HTTP) and Discord.

`/readyz` must follow the connection: 503 while the emulated socket or gateway is down (the
emulator holds the reconnection), 200 again once the bot is back.
"""

from __future__ import annotations

import asyncio

from tests.bot.bot_process import BotProcess, clean_env, starts_bot_process, write_config
from tests.bot.ops.helpers import (
    free_port,
    get,
    metrics,
    readyz,
    server_config,
    value,
    wait_ready,
)
from tests.bot.platforms.slack.helpers import APP_TOKEN, BOT_TOKEN, SECRET, post
from tests.fakes.discord.api import FakeDiscord
from tests.fakes.slack.payloads import slash_command_body, slash_command_payload

pytestmark = starts_bot_process


async def start_bot(tmp_path, config: str, **env: str) -> BotProcess:
    write_config(tmp_path, config)
    return await BotProcess.start(tmp_path, clean_env(**env), "run")


async def test_slack_socket_mode_readiness_follows_the_socket(slack, tmp_path):
    port = free_port()
    bot = await start_bot(
        tmp_path,
        '[slack]\nmode = "socket"\n' + server_config(port),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.url,
    )
    try:
        await bot.wait_for_line("maxim-bot running on slack")
        await slack.wait_socket_connected()
        ready = await wait_ready(port, 200)
        await slack.socket_send("slash_commands", slash_command_payload("34"))
        await slack.socket_send("slash_commands", slash_command_payload("list"))
        before = await metrics(port)

        reconnect = slack.hold_next("apps.connections.open")
        await slack.socket_disconnect(close=True)
        down = await wait_ready(port, 503)
        down_metrics = await metrics(port)
        reconnect.set()
        await slack.wait_socket_connected()
        back = await wait_ready(port, 200)
        code, _ = await bot.end()
    finally:
        bot.kill()

    assert ready["parts"] == {"slack": "up", "storage": "ok", "scheduler": "running"}
    assert value(before, "maxim_commands_total", platform="slack", kind="number") == 1
    assert value(before, "maxim_commands_total", platform="slack", kind="list") == 1
    assert value(before, "maxim_command_duration_seconds_count", platform="slack") == 2
    assert value(before, "maxim_platform_up", platform="slack") == 1
    assert down == {
        "status": "not ready",
        "parts": {"slack": "down", "storage": "ok", "scheduler": "running"},
    }
    assert value(down_metrics, "maxim_platform_up", platform="slack") == 0
    assert back["parts"]["slack"] == "up"
    assert code == 0, bot.text


async def test_slack_http_mode_serves_both_ports(slack, tmp_path):
    port, slack_port = free_port(), free_port()
    bot = await start_bot(
        tmp_path,
        f'[slack]\nmode = "http"\nhttp_port = {slack_port}\n' + server_config(port),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=slack.url,
    )
    try:
        await bot.wait_for_line("maxim-bot running on slack")
        ready = await readyz(port)
        status, _ = await post(slack_port, slash_command_body("34"))
        slack_health = await get(slack_port, "/healthz")
        samples = await metrics(port)
        code, _ = await bot.end()
    finally:
        bot.kill()

    assert ready == (
        200,
        {"status": "ready", "parts": {"slack": "up", "storage": "ok", "scheduler": "running"}},
    )
    assert status == 200
    assert slack_health[0] == 200  # the Slack port keeps its own /healthz
    assert value(samples, "maxim_commands_total", platform="slack", kind="number") == 1
    assert code == 0, bot.text


async def test_discord_readiness_follows_the_gateway_and_metrics_count(discord_api, tmp_path):
    fake = discord_api
    port = free_port()
    bot = await start_bot(
        tmp_path,
        f"[discord]\nguild_ids = [{fake.default_guild_id}]\n" + server_config(port),
        DISCORD_TOKEN=fake.token,
        DISCORD_API_BASE=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
    )
    gate = None
    try:
        await bot.wait_for_line("maxim-bot running on discord")
        ready = await wait_ready(port, 200)
        interaction = await fake.send_command("maxim", {"query": "34"})
        await fake.wait_for_callback(interaction, timeout=30)
        await fake.send_message(content="loss is NaN")
        await fake.wait_for_messages(1, timeout=30)
        before = await metrics(port)

        gate = hold_gateway(fake)
        await fake.drop_connection(None)
        down = await wait_ready(port, 503)
        gate.set()
        await fake.wait_resumed(count=1, timeout=30)
        back = await wait_ready(port, 200)
        code, _ = await bot.end()
    finally:
        if gate is not None:
            gate.set()
        bot.kill()

    assert ready["parts"] == {"discord": "up", "storage": "ok", "scheduler": "running"}
    assert value(before, "maxim_commands_total", platform="discord", kind="number") == 1
    assert value(before, "maxim_trigger_answers_total", platform="discord", rule="nan") == 1
    assert value(before, "maxim_platform_up", platform="discord") == 1
    assert down["parts"]["discord"] == "down"
    assert back["parts"]["discord"] == "up"
    assert code == 0, bot.text


def hold_gateway(fake: FakeDiscord):
    """Keep new gateway connections waiting until the returned event is set.

    The emulator reconnects at once; holding the handshake makes "disconnected" last long
    enough to see, without a sleep.
    """
    gate = asyncio.Event()
    serve = fake.gateway._serve

    async def held(request):
        await gate.wait()
        return await serve(request)

    fake.gateway._serve = held
    return gate


async def test_slack_and_discord_at_once_report_each_platform(slack, discord_api, tmp_path):
    port = free_port()
    bot = await start_bot(
        tmp_path,
        f'[slack]\nmode = "socket"\n[discord]\nguild_ids = [{discord_api.default_guild_id}]\n'
        + server_config(port),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=APP_TOKEN,
        SLACK_API_URL=slack.url,
        DISCORD_TOKEN=discord_api.token,
        DISCORD_API_BASE=discord_api.api_base,
        DISCORD_GATEWAY_URL=discord_api.gateway_url,
    )
    gate = None
    try:
        await bot.wait_for_line("maxim-bot running on slack, discord")
        ready = await wait_ready(port, 200)
        gate = hold_gateway(discord_api)
        await discord_api.drop_connection(None)
        down = await wait_ready(port, 503)
        samples = await metrics(port)
        gate.set()
        await wait_ready(port, 200)
        code, _ = await bot.end()
    finally:
        if gate is not None:
            gate.set()
        bot.kill()

    assert ready["parts"] == {
        "slack": "up",
        "discord": "up",
        "storage": "ok",
        "scheduler": "running",
    }
    assert down["parts"]["discord"] == "down"
    assert down["parts"]["slack"] == "up"  # one platform down does not hide the other
    assert value(samples, "maxim_platform_up", platform="slack") == 1
    assert value(samples, "maxim_platform_up", platform="discord") == 0
    assert code == 0, bot.text
