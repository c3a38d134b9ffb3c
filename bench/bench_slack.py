"""Benchmark: `/maxim` over Slack HTTP mode, against a raw aiohttp server as the floor.

Four servers run in child processes on 127.0.0.1:

* raw: aiohttp alone, verifying the same Slack signature and answering a constant;
* bolt: slack-bolt alone behind the same kind of aiohttp handler, acking a constant;
* bolt, same answer: the same, acking the bot's own 1 KiB preview of a maxim;
* bot: the real maxim-bot Slack platform (its signature and replay checks, Bolt, ChatService,
  SQLite storage, the Block Kit preview) with metrics recorded and the probe server listening,
  signed in against the loopback Slack emulator from the tests.

Every server gets 8,000 signed slash commands one after another, then 8,000 from 8 concurrent
clients (each one distinct: the bot refuses a replayed signature), the servers taking turns
every 200 requests; the table gives p50 latency, p99 (the median of each batch's p99: a stall
of the shared machine hits a few batches, not the figure), requests per second and the
server's CPU time per request, with the ratios. Targets: the bot within 2x the raw floor on
p50 and p99 and at least 0.5x its concurrent requests per second (issue #4); the bot within
1.15x bare Bolt on p50, p99 and requests per second, sequential and concurrent (issue #11).

Run it as ``python bench/bench_slack.py`` from the repository root (``make bench`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import math
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "bench-signing-secret"  # noqa: S105  # loopback-only
BOT_TOKEN = "xoxb-bench"  # noqa: S105
REQUESTS = 8000  # per server, sequential and again concurrent
BATCH = 200  # requests a server gets before the next one takes its turn
CLIENTS = 8
WARM_UP = 300
TARGET_LATENCY = 2.0
TARGET_RPS = 0.5
TARGET_BOLT = 1.15  # the bot's cost over bare Bolt, on every figure
CLIENT_CORE, SERVER_CORE = 0, 1
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


async def serve_bot(
    *, metrics: bool = True, api_url: str | None = None, stats: bool = True
) -> None:
    """The bot's Slack platform in HTTP mode; with `metrics`, as ``[server] enabled`` runs it.

    Its Slack is the emulator, in this process unless `api_url` names one elsewhere (a bench
    that watches what the bot posts); trigger rules have no cooldown, so every NaN is answered.
    """
    import logging

    from bot.log import setup_logging

    # Logging as the bot runs it (INFO, its filters and format), written to nowhere: what a
    # request logs is part of its cost. A late answer's failing response_url (the bench gives
    # none) is counted by the client as a "slow ack".
    setup_logging("INFO", [SECRET, BOT_TOKEN])
    with open(os.devnull, "w") as nowhere:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(nowhere)
        await _serve_bot(metrics=metrics, api_url=api_url, stats=stats)


async def _serve_bot(*, metrics: bool, api_url: str | None, stats: bool) -> None:
    import random

    from bot import ops
    from bot.bootstrap import build_service
    from bot.config import ServerConfig, Settings
    from bot.ops.metrics import Metrics
    from bot.ops.probes import ProbeServer
    from bot.platforms.slack.lifecycle import SlackPlatform
    from bot.runner import settle_heap
    from bot.storage import Storage
    from tests.fakes.slack.api import FakeSlack

    async def ping() -> None:
        return None

    async with contextlib.AsyncExitStack() as stack:
        if metrics:
            recorder = Metrics(("slack",))
            probes = ProbeServer(
                ServerConfig(enabled=True, port=0),
                recorder,
                [],
                ping=ping,
                scheduler_running=lambda: True,
            )
            await probes.start()
            stack.push_async_callback(probes.stop)
            ops.active.set(recorder)
        if api_url is None:
            api_url = (await stack.enter_async_context(FakeSlack(bot_token=BOT_TOKEN))).url
        tmp = stack.enter_context(tempfile.TemporaryDirectory())
        settings = Settings.model_validate(
            {
                "slack": {"api_url": api_url, "mode": "http", "http_port": 0},
                "triggers": {"cooldown_seconds": 0},
                "stats": {"enabled": stats},  # bench_stats.py compares counting on and off
                "storage": {"url": f"sqlite+aiosqlite:///{tmp}/bench.db"},
                "secrets": {"slack_bot_token": BOT_TOKEN, "slack_signing_secret": SECRET},
            }
        )
        storage = await Storage.open(settings.storage.url)
        stack.push_async_callback(storage.close)
        service = build_service(settings, storage, rng=random.Random(1))
        platform = SlackPlatform(service, settings.slack, settings.secrets)
        await platform.start()
        stack.push_async_callback(platform.stop)
        assert platform.port is not None
        settle_heap()  # as `maxim-bot run` does once it runs
        await announce_and_wait(platform.port)


async def serve_bolt(*, same_answer: bool = False) -> None:
    """slack-bolt itself, acking a constant: the floor any Bolt app stands on.

    With `same_answer`, the constant is the bot's own preview message (a maxim in Block Kit
    with three buttons, about 1 KiB instead of 30 bytes): what remains between that and the
    bot is the bot's own work, not the size of what Slack is sent.
    """
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

        answer: dict[str, Any] = {"text": "Maxim 1"}
        if same_answer:
            answer = {"response_type": "ephemeral", **preview_message()}

        @app.command("/maxim")
        async def constant(ack: AsyncAck) -> None:
            await ack(**answer)

        async def events(request: web.Request) -> web.Response:
            headers: Any = request.headers  # Bolt reads any mapping's items()
            bolt_request = AsyncBoltRequest(
                body=await request.text(), query=request.query_string, headers=headers
            )
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        web_app = web.Application()
        web_app.router.add_post("/slack/events", events)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        await announce_and_wait(int(runner.addresses[0][1]))
        await runner.cleanup()


def preview_message() -> dict[str, Any]:
    """The bot's private preview of a random maxim, as `/maxim` answers it."""
    import datetime
    import random

    from bot.platforms.slack.render import render_reply
    from maxims import load_corpus, parse_query
    from maxims.reply import answer

    reply = answer(
        parse_query(""),
        corpus=load_corpus(),
        today=datetime.date(2026, 1, 1),
        rng=random.Random(1),
        channel_key="slack:C1",
        command="/maxim",
    )
    return dict(render_reply(reply, preview=True))


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


class Server(NamedTuple):
    """A server under test: where it listens, and its process (for its CPU time)."""

    port: int
    pid: int


def events_url(target: Server) -> str:
    return f"http://127.0.0.1:{target.port}/slack/events"


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux ``/proc``; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Tally:
    """What one server did over the run: latencies per batch, wall and CPU time per mode."""

    def __init__(self) -> None:
        self.batches: dict[str, list[list[float]]] = {"seq": [], "con": []}
        self.wall = {"seq": 0.0, "con": 0.0}
        self.cpu = {"seq": 0.0, "con": 0.0}
        self.slow_acks = 0

    def p99(self, mode: str) -> float:
        """The median of each batch's p99.

        The p99 of all requests at once was decided by whichever server a stall of the shared
        machine happened to hit (a few batches out of thirty): it moved by a fifth between runs
        while p50 held still. A server whose own pauses recur still shows them here.
        """
        return statistics.median(percentile(batch, 99) for batch in self.batches[mode])

    def figures(self) -> dict[str, float]:
        seq = [t for batch in self.batches["seq"] for t in batch]
        con = [t for batch in self.batches["con"] for t in batch]
        return {
            "seq_p50": percentile(seq, 50),
            "seq_p99": self.p99("seq"),
            "seq_rps": len(seq) / self.wall["seq"],
            "con_p50": percentile(con, 50),
            "con_p99": self.p99("con"),
            "con_rps": len(con) / self.wall["con"],
            "seq_cpu": self.cpu["seq"] / len(seq),
            "con_cpu": self.cpu["con"] / len(con),
            "slow_acks": self.slow_acks,
        }


async def measure(servers: dict[str, Server]) -> dict[str, dict[str, float]]:
    """Every server's figures, measured in small batches taking turns.

    Load on a shared machine drifts within seconds: measured one after the other, two equal
    servers differed by a third. Taking turns every `BATCH` requests, in alternating order,
    every server meets the same drift, so their ratios hold still while the figures move.
    """
    import aiohttp

    tallies = {kind: Tally() for kind in servers}

    async def worker(
        session: aiohttp.ClientSession,
        url: str,
        work: list[tuple[bytes, dict[str, str]]],
        tally: Tally,
        out: list[float],
    ) -> None:
        for body, headers in work:
            start = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as response:
                answer = await response.read()
                if response.status != 200:
                    raise SystemExit(f"server answered {response.status}")
            out.append(time.perf_counter() - start)
            tally.slow_acks += b"Working on it" in answer  # acknowledged first, answered later

    async def batch(kind: str, session: aiohttp.ClientSession, mode: str, clients: int) -> None:
        target, tally = servers[kind], tallies[kind]
        url = events_url(target)
        # Signed before the clock starts, each one unique (the bot refuses a seen request).
        work = [signed_command("", next(NUMBERS)) for _ in range(BATCH)]
        share = BATCH // clients
        latencies: list[float] = []
        tally.batches[mode].append(latencies)
        cpu_before, start = cpu_seconds(target.pid), time.perf_counter()
        await asyncio.gather(
            *(
                worker(session, url, work[i * share : (i + 1) * share], tally, latencies)
                for i in range(clients)
            )
        )
        tally.wall[mode] += time.perf_counter() - start
        tally.cpu[mode] += cpu_seconds(target.pid) - cpu_before

    kinds = list(servers)
    async with contextlib.AsyncExitStack() as stack:
        sessions = {
            kind: await stack.enter_async_context(
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS))
            )
            for kind in kinds
        }
        for kind in kinds:  # warm-up: every connection opened, caches filled, not counted
            work = [signed_command("", next(NUMBERS)) for _ in range(WARM_UP)]
            share = WARM_UP // CLIENTS
            await asyncio.gather(
                *(
                    worker(
                        sessions[kind],
                        events_url(servers[kind]),
                        work[i * share :][:share],
                        Tally(),
                        [],
                    )
                    for i in range(CLIENTS)
                )
            )
        for mode, clients in (("seq", 1), ("con", CLIENTS)):
            for number in range(REQUESTS // BATCH):
                for kind in kinds if number % 2 == 0 else kinds[::-1]:
                    await batch(kind, sessions[kind], mode, clients)
    return {kind: tallies[kind].figures() for kind in kinds}


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


@contextlib.asynccontextmanager
async def server(kind: str, *options: str, script: str = __file__) -> AsyncIterator[Server]:
    """One server in a child process (so it has a core of its own), with `options`.

    `script` is the bench whose ``--serve KIND`` starts it (`announce_and_wait` tells its port).
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        script,
        "--serve",
        kind,
        *options,
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    pin(child.pid, SERVER_CORE)
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=30)
        if not line.strip().isdigit():
            raise SystemExit(f"the {kind} server did not start")
        yield Server(int(line), child.pid)
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
        await asyncio.wait_for(child.wait(), timeout=30)


def pin(pid: int, core: int) -> None:
    """Keep a process on one core (Linux, with a core to spare): the servers on one, the client
    on the other, so the client's work never queues behind a server's on the same core.
    """
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(pid, {core})


ROWS = (  # label, key, unit, lower is better
    ("sequential p50", "seq_p50", "ms", True),
    ("sequential p99", "seq_p99", "ms", True),
    ("sequential req/s", "seq_rps", "", False),
    ("concurrent p50", "con_p50", "ms", True),
    ("concurrent p99", "con_p99", "ms", True),
    ("concurrent req/s", "con_rps", "", False),
    ("sequential CPU", "seq_cpu", "us", True),
    ("concurrent CPU", "con_cpu", "us", True),
)
SCALE = {"ms": 1e3, "us": 1e6, "": 1.0}


def cost(over: dict[str, float], under: dict[str, float], key: str, lower_is_better: bool) -> float:
    """How many times `over` costs `under` on a figure: time over time, or rate under rate."""
    return over[key] / under[key] if lower_is_better else under[key] / over[key]


def report(results: dict[str, dict[str, float]], seconds: float) -> list[str]:
    """The table; returns the targets missed."""
    raw, bolt, same, bot = (results[k] for k in ("raw", "bolt", "bolt-same-answer", "bot"))
    print(
        f"bench_slack: /maxim over Slack HTTP mode, signed, loopback, metrics on; {REQUESTS} "
        f"sequential and {REQUESTS} from {CLIENTS} concurrent clients per server, the servers "
        f"taking turns every {BATCH} requests ({seconds:.1f} s)"
    )
    print(
        "  ratios are costs: time over time, or the other's requests/s over ours (lower is "
        "better);\n  'bolt, same answer' is bare Bolt acking the bot's 1 KiB preview message"
    )
    print(
        f"  {'':16} {'raw aiohttp':>12} {'bare bolt':>12} {'bolt, same':>12} {'maxim-bot':>12} "
        f"{'bolt/raw':>8} {'bot/raw':>8} {'bot/bolt':>8} {'bot/same':>8}  targets"
    )
    missed = []
    for label, key, unit, lower in ROWS:
        to_raw, to_bolt = cost(bot, raw, key, lower), cost(bot, bolt, key, lower)
        targets = []
        if unit != "us":
            targets.append(("bot/bolt", to_bolt, TARGET_BOLT))
        if unit == "ms":
            targets.append(("bot/raw", to_raw, TARGET_LATENCY))
        if key == "con_rps":
            targets.append(("bot/raw", to_raw, 1 / TARGET_RPS))
        verdicts = []
        for name, ratio, target in targets:
            ok = ratio <= target
            verdicts.append(f"{name} <= {target:g}x {'ok' if ok else 'MISSED'}")
            if not ok:
                missed.append(f"{label} {name}")
        scale = SCALE[unit]
        figures = " ".join(f"{r[key] * scale:>9.3f} {unit:2}" for r in (raw, bolt, same, bot))
        print(
            f"  {label:16} {figures} {cost(bolt, raw, key, lower):>7.2f}x {to_raw:>7.2f}x "
            f"{to_bolt:>7.2f}x {cost(bot, same, key, lower):>7.2f}x  {'; '.join(verdicts)}".rstrip()
        )
    if bot["slow_acks"]:
        print(f"  slow acks (answer took over 2 s, sent later): {bot['slow_acks']:.0f}")
    print(f"  targets: {'all met' if not missed else 'missed: ' + ', '.join(missed)}")
    return missed


async def main() -> None:
    start = time.perf_counter()
    pin(0, CLIENT_CORE)
    kinds = ("raw", "bolt", "bolt-same-answer", "bot")
    async with contextlib.AsyncExitStack() as stack:
        servers = {kind: await stack.enter_async_context(server(kind)) for kind in kinds}
        results = await measure(servers)
    report(results, time.perf_counter() - start)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--serve",
        choices=["raw", "bolt", "bolt-same-answer", "bot", "bot-without-metrics", "bot-stats-off"],
        help=argparse.SUPPRESS,
    )
    parser.add_argument("--api-url", help=argparse.SUPPRESS)  # the bot's Slack, if not its own
    args = parser.parse_args()
    if args.serve == "raw":
        asyncio.run(serve_raw())
    elif args.serve == "bolt":
        asyncio.run(serve_bolt())
    elif args.serve == "bolt-same-answer":
        asyncio.run(serve_bolt(same_answer=True))
    elif args.serve == "bot":
        asyncio.run(serve_bot(api_url=args.api_url))
    elif args.serve == "bot-without-metrics":
        asyncio.run(serve_bot(metrics=False))
    elif args.serve == "bot-stats-off":
        asyncio.run(serve_bot(stats=False))
    else:
        asyncio.run(main())
