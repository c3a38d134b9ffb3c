"""Benchmark: the public pages against a bare aiohttp handler returning the same bytes.

Two servers run in child processes on one core, 127.0.0.1:

* bare: aiohttp alone (``AppRunner`` and ``TCPSite``), one handler per path returning the
  very bytes the pages send, with the same content type;
* pages: the bot's own `serve_pages` as ``maxim-bot run`` starts it (`bot.listen`'s
  connection guard and anonymous, header-adding requests, the error-page middleware, the
  ETag and cache headers), the card cached by a first request before the clock starts.

Each gets `REQUESTS` GETs of ``/maxims/34`` and of ``/cards/34.png``, one client after another
and then from `CLIENTS` concurrent clients over kept-alive connections, the two servers taking
turns every `BATCH` requests, so both meet the same drift of the shared machine. Printed:
requests per second and p50 latency of each, and the pages' requests per second as a ratio to
the bare handler's. Target (issue #20): at least 0.5x on both paths.

Run it as ``python bench/bench_web.py`` from the repository root (``make bench`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_slack import (  # noqa: E402
    CLIENT_CORE,
    Server,
    announce_and_wait,
    percentile,
    pin,
    server,
)

PATHS = ("/maxims/34", "/cards/34.png")
REQUESTS = 4000  # per path and server, one after another and again concurrent
BATCH = 200
CLIENTS = 8
WARM_UP = 200
TARGET = 0.5
PUBLIC_URL = "https://maxims.example.org"


def the_same_bytes() -> dict[str, tuple[bytes, str]]:
    """What the pages send for each path, and its content type, made by the bot's own code."""
    from bot.cards import render_card
    from bot.web.pages import Pages
    from bot.web.site import Site
    from maxims import load_corpus

    corpus = load_corpus()
    maxim = corpus.maxims[33]
    page = Pages(corpus, Site(PUBLIC_URL)).maxim(maxim)
    return {
        "/maxims/34": (page.body, "text/html; charset=utf-8"),
        "/cards/34.png": (render_card(maxim), "image/png"),
    }


async def serve_bare() -> None:
    from aiohttp import web

    app = web.Application()
    for path, (body, content_type) in the_same_bytes().items():

        async def handler(
            _request: web.Request, body: bytes = body, kind: str = content_type
        ) -> web.Response:
            return web.Response(body=body, headers={"Content-Type": kind})

        app.router.add_get(path, handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    await announce_and_wait(int(runner.addresses[0][1]))
    await runner.cleanup()


async def serve_pages() -> None:
    from bot.bootstrap import web_site
    from bot.cards import CardCache
    from bot.config import Settings
    from bot.runner import settle_heap
    from bot.web.serving import serve_pages as serve
    from maxims import load_corpus

    settings = Settings.model_validate(
        {"web": {"enabled": True, "port": 0, "public_url": PUBLIC_URL}}
    )
    async with serve(
        settings.web,
        web_site(settings),
        corpus=load_corpus(),
        cards=CardCache(),
        limits=settings.server,
    ) as served:
        assert served.port is not None, served.problem
        settle_heap()  # as `maxim-bot run` does once it runs
        await announce_and_wait(served.port)


async def measure(servers: dict[str, Server]) -> dict[tuple[str, str, str], dict[str, float]]:
    """Requests/s and p50 of each (server, path, mode), the servers taking turns in batches."""
    import aiohttp

    times: dict[tuple[str, str, str], list[float]] = {}
    walls: dict[tuple[str, str, str], float] = {}

    async def worker(
        session: aiohttp.ClientSession, url: str, count: int, out: list[float]
    ) -> None:
        for _ in range(count):
            start = time.perf_counter()
            async with session.get(url) as response:
                await response.read()
                if response.status != 200:
                    raise SystemExit(f"{url} answered {response.status}")
            out.append(time.perf_counter() - start)

    async with contextlib.AsyncExitStack() as stack:
        sessions = {
            kind: await stack.enter_async_context(
                aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS))
            )
            for kind in servers
        }

        async def batch(kind: str, path: str, mode: str, clients: int, count: int) -> None:
            url = f"http://127.0.0.1:{servers[kind].port}{path}"
            out = times.setdefault((kind, path, mode), [])
            start = time.perf_counter()
            await asyncio.gather(
                *(worker(sessions[kind], url, count // clients, out) for _ in range(clients))
            )
            walls[(kind, path, mode)] = walls.get((kind, path, mode), 0.0) + (
                time.perf_counter() - start
            )

        for kind in servers:  # warm-up: connections open, the card drawn and cached
            for path in PATHS:
                await batch(kind, path, "warm", CLIENTS, WARM_UP)
        kinds = list(servers)
        for mode, clients in (("seq", 1), ("con", CLIENTS)):
            for number in range(REQUESTS // BATCH):
                for path in PATHS:
                    for kind in kinds if number % 2 == 0 else kinds[::-1]:
                        await batch(kind, path, mode, clients, BATCH)
    return {
        key: {"rps": len(values) / walls[key], "p50": percentile(values, 50)}
        for key, values in times.items()
        if key[2] != "warm"
    }


def report(results: dict[tuple[str, str, str], dict[str, float]], seconds: float) -> list[str]:
    print(
        f"bench_web: the pages against a bare aiohttp handler sending the same bytes; "
        f"{REQUESTS} GETs per path, server and mode, the servers taking turns every {BATCH} "
        f"({seconds:.1f} s)"
    )
    print(
        f"  {'':28} {'bare req/s':>10} {'pages req/s':>11} {'bare p50':>9} {'pages p50':>9} "
        f"{'pages/bare':>10}  target"
    )
    missed = []
    for path in PATHS:
        for mode, label in (("seq", "sequential"), ("con", f"{CLIENTS} concurrent")):
            bare, pages = results[("bare", path, mode)], results[("pages", path, mode)]
            ratio = pages["rps"] / bare["rps"]
            ok = ratio >= TARGET
            if not ok:
                missed.append(f"{path} {label}")
            print(
                f"  {path + ' ' + label:28} {bare['rps']:>10.0f} {pages['rps']:>11.0f} "
                f"{bare['p50'] * 1e3:>7.3f}ms {pages['p50'] * 1e3:>7.3f}ms {ratio:>9.2f}x  "
                f">= {TARGET}x {'ok' if ok else 'MISSED'}"
            )
    print(f"  targets: {'all met' if not missed else 'missed: ' + ', '.join(missed)}")
    return missed


async def main() -> int:
    start = time.perf_counter()
    pin(0, CLIENT_CORE)
    async with contextlib.AsyncExitStack() as stack:
        servers = {
            kind: await stack.enter_async_context(server(kind, script=__file__))
            for kind in ("bare", "pages")
        }
        results = await measure(servers)
    return 1 if report(results, time.perf_counter() - start) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", choices=["bare", "pages"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "bare":
        asyncio.run(serve_bare())
    elif args.serve == "pages":
        asyncio.run(serve_pages())
    else:
        sys.exit(asyncio.run(main()))
