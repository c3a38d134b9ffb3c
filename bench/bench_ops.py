"""Benchmark: what the probe server and metrics cost.

1. Slack HTTP `/maxim` with ``[server]`` on (metrics recorded on every command, the probe
   server listening) as a ratio to the same bot with it off: the two taking turns in batches of
   bench_slack's client. Target: at most 1.05x.
2. Idle resident memory of a real ``maxim-bot run`` with Slack (Socket Mode), Discord and the
   server enabled, against the loopback emulators, read from its own ``/metrics``
   (``process_resident_memory_bytes``). Target: at most 100 MiB.
3. A ``/readyz`` flood: ``/maxim today`` (which reads the channel's time zone from storage)
   typed into a real console ``maxim-bot run`` on SQLite, while a child process probes
   ``/readyz`` `FLOOD_RATE` times a second over `FLOOD_CLIENTS` connections, as a ratio to the
   same command with the probes quiet, the two taking turns. Every probe must answer 200.
   Target: p50 at most 2x (when each probe pinged the database, 4 ms became 585 ms and 64
   probes of 19,540 answered 503).

Run it as ``python bench/bench_ops.py`` from the repository root (``make bench`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_slack import BATCH, BOT_TOKEN, measure, percentile, server  # noqa: E402

if TYPE_CHECKING:
    from tests.fakes.discord.api import FakeDiscord

TARGET_RATIO = 1.05
TARGET_RSS_MIB = 100
IDLE_SECONDS = 5.0  # after "running": connections settled, start-up garbage collected
TARGET_FLOOD_RATIO = 2.0
FLOOD_RATE = 2000  # probes a second at most: a flood far beyond any prober's schedule
FLOOD_CLIENTS = 64  # connections they come over; each waits for its answer before the next
FLOOD_ROUNDS = 4  # each a quiet turn and a flooded turn
TODAY_PER_TURN = 100  # /maxim today commands per turn


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


@dataclasses.dataclass(frozen=True)
class RunningBot:
    """A real ``maxim-bot run`` child process and the emulators it talks to."""

    discord: FakeDiscord
    metrics_url: str


@contextlib.asynccontextmanager
async def all_platforms_bot() -> AsyncIterator[RunningBot]:
    """``maxim-bot run`` with Slack (Socket Mode), Discord and the server, on the emulators.

    Yields once the bot said it is running; stops it (SIGTERM) on the way out. Shared by the
    idle memory figures here and in bench_cards.py, so both measure the same bot.
    """
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
            assert child.stderr is not None
            log = child.stderr
            drained: asyncio.Future[bytes] | None = None
            try:
                async with asyncio.timeout(60):
                    while b"maxim-bot running on" not in await log.readline():
                        pass
                # Its log read on and dropped: a full pipe would stall a bot kept busy.
                drained = asyncio.ensure_future(log.read())
                yield RunningBot(dc, f"http://127.0.0.1:{port}/metrics")
            finally:
                child.send_signal(signal.SIGTERM)
                if drained is None:
                    await child.communicate()
                else:
                    await drained
                    await child.wait()


async def resident_mib(bot: RunningBot) -> float:
    """The bot's resident memory, as its own ``/metrics`` reports it."""
    import aiohttp
    from prometheus_client.parser import text_string_to_metric_families

    async with aiohttp.ClientSession() as session, session.get(bot.metrics_url) as response:
        text = await response.text()
    [rss] = [
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "process_resident_memory_bytes"
    ]
    return rss / 2**20


async def idle_rss() -> str:
    async with all_platforms_bot() as bot:
        await asyncio.sleep(IDLE_SECONDS)
        mib = await resident_mib(bot)
    verdict = "ok" if mib <= TARGET_RSS_MIB else "MISSED"
    return (
        f"  idle RSS, Slack (Socket Mode) + Discord + server: {mib:.1f} MiB  "
        f"<= {TARGET_RSS_MIB} MiB {verdict}"
    )


async def flood(port: int) -> None:
    """Probe ``/readyz`` at `FLOOD_RATE` until SIGTERM; print the statuses seen.

    A fixed rate, not as fast as answers come: a bot that answers probes faster would
    otherwise be sent more of them and compare worse. A server slower than the rate gets
    `FLOOD_CLIENTS` probes at once, each sent as the previous one is answered.

    Runs as a child process (``--flood PORT``), so the flood has a loop of its own and the
    timing of ``/maxim today`` in the parent is not delayed by the flooding.
    """
    import json
    from collections import Counter

    import aiohttp

    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    statuses: Counter[int] = Counter()
    url = f"http://127.0.0.1:{port}/readyz"
    connector = aiohttp.TCPConnector(limit=FLOOD_CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        loop = asyncio.get_running_loop()
        interval = FLOOD_CLIENTS / FLOOD_RATE  # each client's share of the rate

        async def client(number: int) -> None:
            due = loop.time() + interval * number / FLOOD_CLIENTS
            while not stop.is_set():
                if (wait := due - loop.time()) > 0:
                    await asyncio.sleep(wait)
                due = max(due + interval, loop.time())  # behind schedule: no burst to catch up
                async with session.get(url) as response:
                    await response.read()
                    statuses[response.status] += 1

        clients = [asyncio.ensure_future(client(number)) for number in range(FLOOD_CLIENTS)]
        while not statuses:  # flooding: the parent may start its clock
            await asyncio.sleep(0.01)
        print("flooding", flush=True)
        await stop.wait()
        await asyncio.gather(*clients)
    print(json.dumps(statuses), flush=True)


async def today_latencies(bot: asyncio.subprocess.Process, count: int) -> list[float]:
    """`count` ``/maxim today`` typed one after another; each one's seconds to its answer."""
    assert bot.stdin is not None and bot.stdout is not None
    latencies = []
    for _ in range(count):
        start = time.perf_counter()
        bot.stdin.write(b"/maxim today\n")
        await bot.stdin.drain()
        while "(today" not in (line := (await bot.stdout.readline()).decode()):
            if not line:
                raise SystemExit("the bot ended; its log is bot.log in its directory")
        latencies.append(time.perf_counter() - start)
    return latencies


async def flooded_turn(
    bot: asyncio.subprocess.Process, port: int
) -> tuple[list[float], dict[str, int], float]:
    """`TODAY_PER_TURN` commands under a flood of probes.

    Their latencies, the probes' status codes (counted), and the seconds the commands took.
    """
    import json

    child = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).resolve()),
        "--flood",
        str(port),
        stdout=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    try:
        assert await child.stdout.readline() == b"flooding\n"
        started = time.perf_counter()
        latencies = await today_latencies(bot, TODAY_PER_TURN)
        seconds = time.perf_counter() - started
    finally:
        child.send_signal(signal.SIGTERM)
        out, _ = await child.communicate()
    statuses: dict[str, int] = json.loads(out.decode().splitlines()[-1])
    return latencies, statuses, seconds


async def readyz_flood() -> list[str]:
    import statistics

    import aiohttp

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "config.toml").write_text(
            f'[storage]\nurl = "sqlite+aiosqlite:///{tmp}/bot.db"\n'
            f"[server]\nenabled = true\nport = {port}\n"
        )
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "DISCORD_", "MAXIM_BOT_"))
        } | {"PYTHONPATH": str(ROOT)}
        with open(Path(tmp, "bot.log"), "wb") as log:
            bot = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                cwd=tmp,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
            )
        try:
            async with asyncio.timeout(60), aiohttp.ClientSession() as session:
                while True:
                    with contextlib.suppress(aiohttp.ClientError):
                        async with session.get(f"http://127.0.0.1:{port}/readyz") as response:
                            if response.status == 200:
                                break
                    await asyncio.sleep(0.05)
            await today_latencies(bot, TODAY_PER_TURN)  # warm-up, not counted
            quiet: list[float] = []
            flooded: list[float] = []
            probes: dict[str, int] = {}
            flood_seconds = 0.0
            for number in range(FLOOD_ROUNDS):
                for turn in ("quiet", "flooded") if number % 2 == 0 else ("flooded", "quiet"):
                    if turn == "quiet":
                        quiet += await today_latencies(bot, TODAY_PER_TURN)
                        continue
                    latencies, statuses, seconds = await flooded_turn(bot, port)
                    flooded += latencies
                    flood_seconds += seconds
                    for status, count in statuses.items():
                        probes[status] = probes.get(status, 0) + count
        finally:
            assert bot.stdin is not None
            bot.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.wait(), 30)
            if bot.returncode is None:
                bot.kill()
    lines = []
    for label, figure in (
        ("p50", statistics.median),
        ("p99", lambda values: percentile(values, 99)),
    ):
        ratio = figure(flooded) / figure(quiet)
        target = f"<= {TARGET_FLOOD_RATIO}x " + ("ok" if ratio <= TARGET_FLOOD_RATIO else "MISSED")
        lines.append(
            f"  /maxim today {label}  quiet {figure(quiet) * 1000:7.3f} ms  flooded "
            f"{figure(flooded) * 1000:7.3f} ms  {ratio:5.2f}x  {target if label == 'p50' else ''}"
        )
    total = sum(probes.values())
    not_ok = total - probes.get("200", 0)
    lines.append(
        f"  /readyz probes during the flood: {total} ({total / flood_seconds:.0f}/s), "
        f"not 200: {not_ok}  " + ("ok" if not_ok == 0 else "MISSED")
    )
    return lines


async def main(*, only_flood: bool = False) -> None:
    if not only_flood:
        start = time.perf_counter()
        lines = await slack_overhead()
        lines.append(await idle_rss())
        print(
            "bench_ops: Slack HTTP /maxim with [server] on / off, the two taking turns every "
            f"{BATCH} requests; idle memory ({time.perf_counter() - start:.1f} s)"
        )
        print("\n".join(lines))
    start = time.perf_counter()
    lines = await readyz_flood()
    print(
        f"bench_ops: console /maxim today with /readyz flooded ({FLOOD_RATE}/s) / quiet, "
        f"taking turns every {TODAY_PER_TURN} commands ({time.perf_counter() - start:.1f} s)"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--only-flood", action="store_true", help="run only the /readyz flood case")
    args = parser.parse_args()
    if args.flood is not None:
        asyncio.run(flood(args.flood))
    else:
        asyncio.run(main(only_flood=args.only_flood))
