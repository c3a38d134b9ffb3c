"""Benchmark: what the probe server and metrics cost.

1. Slack HTTP `/maxim` with ``[server]`` on (metrics recorded on every command, the probe
   server listening) as a ratio to the same bot with it off: the two taking turns in batches of
   bench_slack's client. Target: at most 1.05x.
2. Idle resident memory of a real ``maxim-bot run`` with Slack (Socket Mode), Discord and the
   server enabled, against the loopback emulators, read from its own ``/metrics``
   (``process_resident_memory_bytes``). Target: at most 100 MiB.

Run it as ``python bench/bench_ops.py`` from the repository root (``make bench`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_slack import BATCH, BOT_TOKEN, measure, server  # noqa: E402

TARGET_RATIO = 1.05
TARGET_RSS_MIB = 100
IDLE_SECONDS = 5.0  # after "running": connections settled, start-up garbage collected


async def slack_overhead() -> list[str]:
    kinds = ("bot-without-metrics", "bot")
    async with contextlib.AsyncExitStack() as stack:
        servers = {kind: await stack.enter_async_context(server(kind)) for kind in kinds}
        results = await measure(servers)
    off, on = (results[kind] for kind in kinds)
    lines = []
    for key, label in (
        ("seq_p50", "sequential p50"),
        ("seq_p99", "sequential p99"),
        ("con_p50", "concurrent p50"),
        ("con_p99", "concurrent p99"),
    ):
        ratio = on[key] / off[key]
        verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
        lines.append(
            f"  {label:16} off {off[key] * 1000:7.3f} ms  on {on[key] * 1000:7.3f} ms  "
            f"{ratio:5.2f}x  <= {TARGET_RATIO}x {verdict}"
        )
    ratio = off["con_rps"] / on["con_rps"]
    verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
    lines.append(
        f"  {'concurrent req/s':16} off {off['con_rps']:7.0f}     on {on['con_rps']:7.0f}     "
        f"{ratio:5.2f}x (off/on)  <= {TARGET_RATIO}x {verdict}"
    )
    return lines


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def idle_rss() -> str:
    import aiohttp
    from prometheus_client.parser import text_string_to_metric_families

    from tests.fakes.discord.api import FakeDiscord
    from tests.fakes.slack.api import FakeSlack

    app_token = "xapp-bench"  # noqa: S105
    port = free_port()
    async with FakeSlack(bot_token=BOT_TOKEN, app_token=app_token) as slack, FakeDiscord() as dc:
        with tempfile.TemporaryDirectory() as tmp:
            Path(tmp, "config.toml").write_text(
                f'[storage]\nurl = "sqlite+aiosqlite:///{tmp}/bot.db"\n'
                f'[slack]\nmode = "socket"\n[discord]\nguild_ids = [{dc.default_guild_id}]\n'
                f"[server]\nenabled = true\nport = {port}\n"
            )
            env = {
                k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_"))
            } | {
                "PYTHONPATH": str(ROOT),
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_APP_TOKEN": app_token,
                "SLACK_API_URL": slack.url,
                "DISCORD_TOKEN": dc.token,
                "DISCORD_API_BASE": dc.api_base,
                "DISCORD_GATEWAY_URL": dc.gateway_url,
            }
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=tmp,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
            try:
                assert child.stderr is not None
                async with asyncio.timeout(60):
                    while b"maxim-bot running on" not in await child.stderr.readline():
                        pass
                await asyncio.sleep(IDLE_SECONDS)
                url = f"http://127.0.0.1:{port}/metrics"
                async with aiohttp.ClientSession() as session, session.get(url) as response:
                    text = await response.text()
            finally:
                child.send_signal(signal.SIGTERM)
                await child.communicate()
    [rss] = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "process_resident_memory_bytes"
    ]
    mib = rss / 2**20
    verdict = "ok" if mib <= TARGET_RSS_MIB else "MISSED"
    return (
        f"  idle RSS, Slack (Socket Mode) + Discord + server: {mib:.1f} MiB  "
        f"<= {TARGET_RSS_MIB} MiB {verdict}"
    )


async def main() -> None:
    start = time.perf_counter()
    lines = await slack_overhead()
    lines.append(await idle_rss())
    print(
        "bench_ops: Slack HTTP /maxim with [server] on / off, the two taking turns every "
        f"{BATCH} requests; idle memory ({time.perf_counter() - start:.1f} s)"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args()
    asyncio.run(main())
