"""Card benchmarks: drawing a card, a cached card, and the memory the cards cost.

- drawing uncached: `render_card` (layout: the size search and line breaking, then drawing
  and PNG encoding) against a bare Pillow draw of the same lines with the same fonts into a
  PNG, alternating over all 140 cards, p50 and p99 as ratios (target <= 1.3x); the issue's
  absolute budgets (p50 <= 60 ms, p99 <= 120 ms) are printed beside them;
- cached: `CardCache.png` for a card already drawn, per call (target <= 0.2 ms);
- `maxim card 21 -o /dev/null` cold start against `maxim 21` (the text form): what Pillow and
  one drawing add to the command (no target; the text forms' cold start is bench_core.py's);
- RSS of a fresh process with `bot.cards` imported and no card drawn, and after all 140 cards
  are drawn into a `CardCache` (target <= 130 MiB); their difference is what the cards add to
  the bot's idle RSS (bench_ops.py);
- RSS of the real bot (bench_ops.py's: Slack Socket Mode, Discord and the probe server against
  the loopback emulators, read from its own ``/metrics``): idle with no card drawn (target
  <= 100 MiB), then after ``/maxim card N`` for N = 1..70 through the Discord emulator, each
  answered with its PNG (target <= 130 MiB). Chat has no theme choice, so it draws only the
  70 light cards; the dark ones are drawn only by ``maxim card --theme dark`` and in process.
"""

from __future__ import annotations

import asyncio
import functools
import io
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, ImageDraw

from bot.cards import THEMES, CardCache, render_card
from bot.cards.draw import (
    BOLD,
    FOOTER,
    FOOTER_SIZE,
    HEIGHT,
    LABEL_SIZE,
    MARGIN_X,
    MARGIN_Y,
    REGULAR,
    WIDTH,
    font,
    label_text,
    layout,
)
from bot.cards.themes import PALETTE
from maxims import load_corpus
from maxims.model import Maxim

if TYPE_CHECKING:
    from tests.fakes.discord.api import FakeDiscord

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 3
TARGET_RATIO = 1.3
BUDGET_P50_MS, BUDGET_P99_MS, BUDGET_CACHED_MS = 60, 120, 0.2
TARGET_RSS_MIB = 130
CHAT_CARDS = 70  # chat has no theme choice: light cards only
ANSWER_SECONDS = 30  # for each card's answer; the fake says what it saw instead


def bare_draw(maxim: Maxim, theme: str, lines: list[str], size: int, top: int) -> bytes:
    """What any card costs: the same text, fonts and positions drawn and encoded, no layout."""
    colours = PALETTE[theme]
    image = Image.new("RGB", (WIDTH, HEIGHT), colours.background)
    pen = ImageDraw.Draw(image)
    pen.text(
        (MARGIN_X, MARGIN_Y), label_text(maxim), font=font(BOLD, LABEL_SIZE), fill=colours.label
    )
    words = font(REGULAR, size)
    y = top
    for line in lines:
        pen.text((MARGIN_X, y), line, font=words, fill=colours.text)
        y += round(size * 1.3)
    footer = font(REGULAR, FOOTER_SIZE)
    pen.text((MARGIN_X, HEIGHT - MARGIN_Y - 30), FOOTER, font=footer, fill=colours.footer)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def drawing() -> None:
    cards = [(m, t) for m in load_corpus().maxims for t in THEMES]
    placed = {m: layout(m) for m in load_corpus().maxims}
    for maxim, theme in cards:  # warm up: Pillow, the fonts at every size used
        render_card(maxim, theme)
        bare_draw(maxim, theme, placed[maxim].lines, placed[maxim].size, placed[maxim].top)
    ours: list[float] = []
    bare: list[float] = []
    for _ in range(ROUNDS):  # alternate, so load drift hits both alike
        for maxim, theme in cards:
            p = placed[maxim]
            ours.append(timed(functools.partial(render_card, maxim, theme)))
            bare.append(timed(functools.partial(bare_draw, maxim, theme, p.lines, p.size, p.top)))
    print(f"drawing a card, uncached ({len(ours)} draws: {ROUNDS} rounds of all 140 cards)")
    for label, share, budget in (("p50", 0.5, BUDGET_P50_MS), ("p99", 0.99, BUDGET_P99_MS)):
        mine, base = percentile(ours, share), percentile(bare, share)
        ratio = mine / base
        verdict = "ok" if ratio <= TARGET_RATIO else "MISSED"
        absolute = "ok" if mine * 1000 <= budget else "MISSED"
        print(
            f"  {label} {mine * 1000:6.1f} ms vs bare Pillow {base * 1000:6.1f} ms = {ratio:4.2f}x"
            f"  target <= {TARGET_RATIO}x: {verdict}   (budget <= {budget} ms: {absolute})"
        )


def cached() -> None:
    maxim = load_corpus().maxims[20]  # 21, the longest
    calls = 20_000

    async def run() -> float:
        cache = CardCache()
        await cache.png(maxim)
        start = time.perf_counter()
        for _ in range(calls):
            await cache.png(maxim)
        return (time.perf_counter() - start) / calls

    cost = asyncio.run(run())
    verdict = "ok" if cost * 1000 <= BUDGET_CACHED_MS else "MISSED"
    print(
        f"a cached card: {cost * 1e6:.1f} us per call  target <= {BUDGET_CACHED_MS} ms: {verdict}"
    )


def cold_start(rounds: int = 11) -> None:
    maxim = str(Path(sys.executable).parent / "maxim")
    text: list[float] = []
    card: list[float] = []
    for _ in range(rounds):  # alternate, so load drift hits both alike
        text.append(timed(functools.partial(quiet, [maxim, "21"])))
        card.append(timed(functools.partial(quiet, [maxim, "card", "21", "-o", "/dev/null"])))
    text_ms, card_ms = statistics.median(text) * 1000, statistics.median(card) * 1000
    print(
        f"cold start, median of {rounds}: maxim card 21 -o /dev/null {card_ms:.0f} ms"
        f" vs maxim 21 {text_ms:.0f} ms = {card_ms / text_ms:.1f}x"
    )


def quiet(command: list[str]) -> None:
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


RSS_CODE = """
import asyncio, bot.cards
from maxims import load_corpus
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) * 1024
if {draw}:
    cache = bot.cards.CardCache()
    async def all_cards():
        for m in load_corpus().maxims:
            for t in bot.cards.THEMES:
                await cache.png(m, t)
    asyncio.run(all_cards())
    assert len(cache) == 140
print(rss())
"""


def rss_mib(draw: bool) -> float:
    done = subprocess.run(
        [sys.executable, "-c", RSS_CODE.format(draw=draw)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return int(done.stdout) / 2**20


def memory() -> None:
    idle, drawn = rss_mib(draw=False), rss_mib(draw=True)
    verdict = "ok" if drawn <= TARGET_RSS_MIB else "MISSED"
    print("RSS of a fresh process")
    print(f"  bot.cards imported, no card drawn: {idle:6.1f} MiB")
    target = f"target <= {TARGET_RSS_MIB} MiB: {verdict}"
    print(f"  all 140 cards drawn and cached:    {drawn:6.1f} MiB  {target}")
    print(f"  the cards' share (Pillow, fonts, 140 PNGs): {drawn - idle:.1f} MiB")


def answered_with_card(dc: FakeDiscord, interaction_id: int, number: int) -> bool:
    """Whether the interaction was answered with the card (at once, or after a deferral)."""
    files = [
        a
        for c in dc.interaction_callbacks
        if c.interaction_id == interaction_id
        for a in c.attachments
    ]
    files += [a for w in dc.followups(interaction_id) for a in w.attachments]
    return any(a.filename == f"maxim-{number}.png" and a.content_type == "image/png" for a in files)


async def bot_memory() -> None:
    from bench.bench_ops import IDLE_SECONDS, all_platforms_bot, resident_mib
    from bench.bench_ops import TARGET_RSS_MIB as TARGET_IDLE_RSS_MIB

    async with all_platforms_bot() as bot:
        await asyncio.sleep(IDLE_SECONDS)
        idle = await resident_mib(bot)
        dc = bot.discord
        await dc.wait_for(
            lambda: any(c["name"] == "maxim" for cs in dc.synced_commands.values() for c in cs),
            timeout=60,
            description="/maxim synced",
        )
        start = time.perf_counter()
        for number in range(1, CHAT_CARDS + 1):
            interaction_id = await dc.send_command("maxim", {"query": f"card {number}"})
            await dc.wait_for(
                functools.partial(answered_with_card, dc, interaction_id, number),
                timeout=ANSWER_SECONDS,
                description=f"maxim-{number}.png",
            )
        seconds = time.perf_counter() - start
        drawn = await resident_mib(bot)
    print("RSS of the bot: Slack (Socket Mode) + Discord + server, read from its /metrics")
    verdict = "ok" if idle <= TARGET_IDLE_RSS_MIB else "MISSED"
    print(
        f"  idle, no card drawn:   {idle:6.1f} MiB  target <= {TARGET_IDLE_RSS_MIB} MiB: {verdict}"
    )
    verdict = "ok" if drawn <= TARGET_RSS_MIB else "MISSED"
    print(
        f"  after the cards drawn: {drawn:6.1f} MiB  target <= {TARGET_RSS_MIB} MiB: {verdict}"
        f"  (+{drawn - idle:.1f} MiB)"
    )
    print(
        f"  drawn: /maxim card 1..{CHAT_CARDS} through Discord, each answered with its PNG"
        f" ({seconds:.1f} s)"
    )
    print(
        f"  chat draws only the {CHAT_CARDS} light cards (no theme in chat); all 140, dark"
        " ones too, only in the in-process figure above"
    )


if __name__ == "__main__":
    drawing()
    cached()
    cold_start()
    memory()
    asyncio.run(bot_memory())
