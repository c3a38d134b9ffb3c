"""Benchmark: `/maxim` over Slack HTTP mode, against a raw aiohttp server as the floor.

Two servers run in child processes on 127.0.0.1, one at a time:

* raw: aiohttp alone, verifying the same Slack signature and answering a constant;
* bot: the real maxim-bot Slack platform (bolt, signature check, ChatService, SQLite storage,
  Block Kit preview), signed in against the loopback Slack emulator from the tests.

The client sends 2,000 signed slash commands one after another, then 2,000 from 8 concurrent
clients (each one distinct: the bot refuses a replayed signature), and prints p50/p99 latency
and requests per second of each server and the ratios. Targets (issue #4): p50 and p99 at
most 2x the raw floor, concurrent requests per second at least 0.5x of it.

Run it as ``python bench/bench_slack.py`` from the repository root (``make bench`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-signing-secret"  # noqa: S105  # loopback-only
BOT_TOKEN = "xoxb-bench"  # noqa: S105
REQUESTS = 2000
ROUNDS = 5  # medians over alternating rounds: single runs vary by ±30 % here
CLIENTS = 8
WARM_UP = 300
TARGET_LATENCY = 2.0
TARGET_RPS = 0.5
NUMBERS = itertools.count()  # makes every signed request unique, across rounds and servers


# ------------------------------------------------------------------------------ servers


async def serve_raw() -> None:
    from aiohttp import web

    secret = SECRET.encode()
    answer = b'{"response_type":"ephemeral","text":"Maxim 1"}'

    async def events(request: web.Request) -> web.Response:
        body = await request.read()
        stamp = request.headers.get("X-Slack-Request-Timestamp", "")
        given = request.headers.get("X-Slack-Signature", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return web.Response(status=401)
        digest = hmac.new(secret, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
        if not hmac.compare_digest(f"v0={digest.hexdigest()}", given):
            return web.Response(status=401)
        return web.Response(body=answer, content_type="application/json")

    app = web.Application()
    app.router.add_post("/slack/events", events)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await announce_and_wait(int(runner.addresses[0][1]))
    await runner.cleanup()


async def serve_bot() -> None:
    import logging
    import random

    from bot.bootstrap import build_service
    from bot.config import Settings
    from bot.platforms.slack.lifecycle import SlackPlatform
    from bot.storage import Storage
    from tests.fakes.slack.api import FakeSlack

    # Per-request INFO lines are not what we measure; a late answer's failing response_url
    # (the bench gives none) is counted by the client as a "slow ack" instead.
    logging.disable(logging.ERROR)
    async with FakeSlack(bot_token=BOT_TOKEN) as fake:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings.model_validate(
                {
                    "slack": {"api_url": fake.url, "mode": "http", "http_port": 0},
                    "storage": {"url": f"sqlite+aiosqlite:///{tmp}/bench.db"},
                    "secrets": {"slack_bot_token": BOT_TOKEN, "slack_signing_secret": SECRET},
                }
            )
            storage = await Storage.open(settings.storage.url)

            service = build_service(settings, storage, rng=random.Random(1))
            platform = SlackPlatform(service, settings.slack, settings.secrets)
            await platform.start()
            assert platform.port is not None
            await announce_and_wait(platform.port)
            await platform.stop()
            await storage.close()


async def serve_bolt() -> None:
    """slack-bolt itself, acking a constant: the floor any Bolt app stands on."""
    import logging

    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response
    from slack_bolt.async_app import AsyncAck, AsyncApp
    from slack_bolt.request.async_request import AsyncBoltRequest
    from slack_sdk.web.async_client import AsyncWebClient

    from tests.fakes.slack.api import FakeSlack

    logging.disable(logging.ERROR)
    async with FakeSlack(bot_token=BOT_TOKEN) as fake:
        app = AsyncApp(
            name="bare",
            client=AsyncWebClient(token=BOT_TOKEN, base_url=fake.url),
            signing_secret=SECRET,
            process_before_response=True,
        )

        @app.command("/maxim")
        async def constant(ack: AsyncAck) -> None:
            await ack(text="Maxim 1")

        async def events(request: web.Request) -> web.Response:
            bolt_request = AsyncBoltRequest(
                body=await request.text(), query=request.query_string, headers=request.headers
            )
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        web_app = web.Application()
        web_app.router.add_post("/slack/events", events)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        await announce_and_wait(int(runner.addresses[0][1]))
        await runner.cleanup()


async def announce_and_wait(port: int) -> None:
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print(port, flush=True)
    await stop.wait()


# ------------------------------------------------------------------------------ client


def signed_command(text: str, number: int) -> tuple[bytes, dict[str, str]]:
    """A signed `/maxim text`, unique by `number`: the bot refuses a replayed signature."""
    body = urlencode(
        {
            "token": "x",
            "team_id": "T1",
            "team_domain": "bench",
            "channel_id": "C1",
            "channel_name": "general",
            "user_id": "U1",
            "user_name": "u1",
            "command": "/maxim",
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": f"{number}.1.bench",
        }
    ).encode()
    stamp = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }


async def measure(port: int) -> dict[str, float]:
    import aiohttp

    url = f"http://127.0.0.1:{port}/slack/events"
    # Signed before the clock starts, each one unique (the bot refuses a request seen before).
    requests = iter([signed_command("", next(NUMBERS)) for _ in range(WARM_UP + 2 * REQUESTS)])

    slow = 0

    async def worker(session: aiohttp.ClientSession, count: int, out: list[float]) -> None:
        nonlocal slow
        for _ in range(count):
            body, headers = next(requests)
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.read()
                if response.status != 200:
                    raise SystemExit(f"server answered {response.status}")
            out.append(time.perf_counter() - start)
            slow += b"Working on it" in answer  # acknowledged first, answered later

    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session, WARM_UP // CLIENTS, []) for _ in range(CLIENTS)))
        sequential: list[float] = []
        start = time.perf_counter()
        await worker(session, REQUESTS, sequential)
        sequential_wall = time.perf_counter() - start
        concurrent: list[float] = []
        start = time.perf_counter()
        await asyncio.gather(
            *(worker(session, REQUESTS // CLIENTS, concurrent) for _ in range(CLIENTS))
        )
        concurrent_wall = time.perf_counter() - start
    return {
        "seq_p50": percentile(sequential, 50),
        "seq_p99": percentile(sequential, 99),
        "seq_rps": len(sequential) / sequential_wall,
        "con_p50": percentile(concurrent, 50),
        "con_p99": percentile(concurrent, 99),
        "con_rps": len(concurrent) / concurrent_wall,
        "slow_acks": slow,
    }


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


@contextlib.asynccontextmanager
async def server(kind: str) -> AsyncIterator[int]:
    """One server in a child process (so it has a core of its own); yields its port."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        kind,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
        if not line.strip().isdigit():
            raise SystemExit(f"the {kind} server did not start")
        yield int(line)
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), timeout=30)


def median_round(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds."""
    return {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}


def report(
    raw: dict[str, float], bolt: dict[str, float], bot: dict[str, float], seconds: float
) -> None:
    print(
        f"bench_slack: /maxim over Slack HTTP mode, signed, loopback; {REQUESTS} sequential and "
        f"{REQUESTS} from {CLIENTS} concurrent clients, medians of {ROUNDS} alternating rounds "
        f"({seconds:.1f} s)"
    )
    print(
        f"  {'':16} {'raw aiohttp':>12} {'bare bolt':>12} {'maxim-bot':>12} "
        f"{'bolt/raw':>8} {'bot/raw':>8}  target (bot/raw)"
    )
    rows = [
        ("sequential p50", "seq_p50", "ms", f"<= {TARGET_LATENCY:g}x", True),
        ("sequential p99", "seq_p99", "ms", f"<= {TARGET_LATENCY:g}x", True),
        ("sequential req/s", "seq_rps", "", "", False),
        ("concurrent p50", "con_p50", "ms", f"<= {TARGET_LATENCY:g}x", True),
        ("concurrent p99", "con_p99", "ms", f"<= {TARGET_LATENCY:g}x", True),
        ("concurrent req/s", "con_rps", "", f">= {TARGET_RPS:g}x", False),
    ]
    missed = []
    for label, key, unit, target, lower_is_better in rows:
        ratio = bot[key] / raw[key]
        scale = 1000 if unit == "ms" else 1
        verdict = ""
        if target:
            ok = ratio <= TARGET_LATENCY if lower_is_better else ratio >= TARGET_RPS
            verdict = "ok" if ok else "MISSED"
            if not ok:
                missed.append(label)
        print(
            f"  {label:16} {raw[key] * scale:>9.3f} {unit:2} {bolt[key] * scale:>9.3f} {unit:2} "
            f"{bot[key] * scale:>9.3f} {unit:2} {bolt[key] / raw[key]:>7.2f}x {ratio:>7.2f}x  "
            f"{target} {verdict}".rstrip()
        )
    if bot["slow_acks"]:
        print(f"  slow acks (answer took over 2 s, sent later): {bot['slow_acks']:.0f}")
    print(f"  targets: {'all met' if not missed else 'missed: ' + ', '.join(missed)}")


async def main() -> None:
    start = time.perf_counter()
    kinds = ("raw", "bolt", "bot")
    results: dict[str, list[dict[str, float]]] = {kind: [] for kind in kinds}
    async with contextlib.AsyncExitStack() as stack:
        ports = {kind: await stack.enter_async_context(server(kind)) for kind in kinds}
        for round_number in range(ROUNDS):
            # Alternate the order, so drifting load on a shared machine hits every server alike.
            order = kinds if round_number % 2 == 0 else kinds[::-1]
            for kind in order:
                results[kind].append(await measure(ports[kind]))
    raw, bolt, bot = (median_round(results[kind]) for kind in kinds)
    report(raw, bolt, bot, time.perf_counter() - start)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=["raw", "bolt", "bot"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "raw":
        asyncio.run(serve_raw())
    elif args.serve == "bolt":
        asyncio.run(serve_bolt())
    elif args.serve == "bot":
        asyncio.run(serve_bot())
    else:
        asyncio.run(main())
