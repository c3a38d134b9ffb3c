"""What counting for `/maxim stats` costs a Slack command: the bot with counting on over off.

The same signed `/maxim` requests as bench_slack.py go to two bot servers, one with
``stats.enabled = true`` (each answer counted beside it, in SQLite) and one with it false,
taking turns so that both meet the same machine. Target (issue #19): on at most 1.05x off on
the Slack HTTP p50. Run it as ``python bench/bench_stats.py`` from the repository root
(``make bench`` does).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bench_slack import CLIENT_CORE, measure, pin, server  # noqa: E402

TARGET = 1.05
ROWS = (("sequential p50", "seq_p50"), ("concurrent p50", "con_p50"))


async def main() -> None:
    start = time.perf_counter()
    pin(0, CLIENT_CORE)
    async with contextlib.AsyncExitStack() as stack:
        servers = {
            "on": await stack.enter_async_context(server("bot")),
            "off": await stack.enter_async_context(server("bot-stats-off")),
        }
        results = await measure(servers)
    on, off = results["on"], results["off"]
    print(
        f"bench_stats: /maxim over Slack HTTP mode, counting on vs off "
        f"({time.perf_counter() - start:.1f} s)"
    )
    missed = []
    for label, key in ROWS:
        ratio = on[key] / off[key]
        target = f"on/off <= {TARGET:g}x {'ok' if ratio <= TARGET else 'MISSED'}"
        if key == "seq_p50" and ratio > TARGET:
            missed.append(label)
        print(
            f"  {label:16} on {on[key] * 1e3:7.3f} ms  off {off[key] * 1e3:7.3f} ms  "
            f"{ratio:5.2f}x  {target if key == 'seq_p50' else ''}".rstrip()
        )
    print(f"  targets: {'all met' if not missed else 'missed: ' + ', '.join(missed)}")


if __name__ == "__main__":
    asyncio.run(main())
