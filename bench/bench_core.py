"""Core benchmarks: `maxim` cold start, answer latency per query form, trigger throughput.

Every figure is a ratio to a baseline measured in the same run, on the same machine:
- cold start: `maxim ARGS` vs `python -c pass` (the bare interpreter), median of alternating runs;
- answer latency: each query form vs `corpus.get(42)` (the cheapest lookup there is);
- trigger scan: messages/s through the trigger engine vs one precompiled `re.search`;
- NaN scan of a hostile 40,000-character message vs 40,000 characters of ordinary chat;
- worst-case search and per-keystroke autocomplete, in microseconds against a 1 ms target.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.chatlines import chat_lines
from maxims import answer, load_corpus
from maxims.search import MAX_QUERY_WORDS
from maxims.suggest import suggest_queries
from maxims.triggers import NAN_RULE, TriggerEngine, mentions_nan

BIN = Path(sys.executable).parent
ROUNDS = 31
# "search overfiting" (a typo) is the one that imports rapidfuzz; no target of its own.
TARGETS = {"42": 2.0, "": 2.0, "search overfitting": 3.5, "today": None, "search overfiting": None}


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def cold_start() -> None:
    forms = list(TARGETS)
    samples: dict[str, list[float]] = {"bare": [], **{f: [] for f in forms}}
    for _ in range(ROUNDS):  # alternate, so load drift hits every variant alike
        samples["bare"].append(wall([sys.executable, "-c", "pass"]))
        for form in forms:
            samples[form].append(wall([str(BIN / "maxim"), *form.split()]))
    bare = statistics.median(samples["bare"])
    print(f"cold start (median of {ROUNDS}; bare `python -c pass` = {bare * 1000:.1f} ms)")
    for form in forms:
        ratio = statistics.median(samples[form]) / bare
        target = TARGETS[form]
        verdict = ""
        if target is not None:
            verdict = f"  target <= {target}x: {'ok' if ratio <= target else 'MISSED'}"
        print(f"  maxim {form or '(random)':<20} {ratio:5.2f}x bare{verdict}")


def per_call(fn: Callable[[], object], number: int) -> float:
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best


def answer_latency() -> None:
    corpus = load_corpus()
    rng = random.Random(1)
    today = dt.date(2026, 11, 28)
    base = per_call(lambda: corpus.get(42), 20000)
    print(f"answer latency (best of 5; baseline corpus.get(42) = {base * 1e6:.3f} us)")
    for form in [
        "42",
        "",
        "today",
        "search overfitting",
        "search overfiting",
        "dropout layers",
        "list",
        "help",
        "71",
        "x" * 300,
    ]:

        def call(f: str = form) -> None:
            corpus.index._cache.clear()  # measure the search itself, not the result cache
            answer(f, corpus=corpus, today=today, rng=rng)

        cost = per_call(call, 100)
        label = form if len(form) < 30 else form[:10] + "…"
        print(f"  {label or '(random)':<22} {cost * 1e6:9.1f} us  {cost / base:8.0f}x baseline")


def trigger_throughput() -> None:
    lines = chat_lines(200_000)
    engine = TriggerEngine([NAN_RULE], load_corpus())
    regex = re.compile(r"\bnan\b", re.IGNORECASE)
    match, search = engine.match, regex.search
    ours, bare = [], []
    for _ in range(5):
        start = time.perf_counter()
        for line in lines:
            search(line)
        bare.append(len(lines) / (time.perf_counter() - start))
        start = time.perf_counter()
        for line in lines:
            match(line)
        ours.append(len(lines) / (time.perf_counter() - start))
    ratio = statistics.median(ours) / statistics.median(bare)
    fired = sum(1 for line in lines if match(line)) / len(lines)
    print(
        f"trigger scan over {len(lines):,} chat lines ({fired:.1%} fire): "
        f"{statistics.median(ours):,.0f} msg/s vs bare re.search {statistics.median(bare):,.0f} "
        f"msg/s = {ratio:.2f}x  target >= 0.5x: {'ok' if ratio >= 0.5 else 'MISSED'}"
    )


HOSTILE = {  # 40,000 characters each, shaped to defeat the scan's cheap paths
    "nan nan nan …": "nan " * 10_000,
    "Nan Nan Nan …": "Nan " * 10_000,
    "nan + 39,997 spaces": "nan" + " " * 39_997,
    "xnan,xnan,…": "xnan," * 8_000,
    "http://x nan …": "http://x nan " * 3_076 + "x" * 12,
    "www.nan www.nan …": "www.nan " * 5_000,
    "a…a ://nan": "a" * 39_993 + " ://nan",
}


def nan_scan() -> None:
    lines, total = [], 0
    for line in chat_lines(5_000):
        if total >= 40_000:
            break
        lines.append(line)
        total += len(line)

    def chat() -> None:
        for line in lines:
            mentions_nan(line)

    base = per_call(chat, 20)
    print(
        f"NaN scan of one 40,000-character message / {total:,} characters of chat in "
        f"{len(lines):,} messages ({base * 1e6:.0f} us; best of 5)"
    )
    worst = 0.0
    for label, text in HOSTILE.items():
        cost = per_call(functools.partial(mentions_nan, text), 20)
        worst = max(worst, cost / base)
        print(f"  {label:<22} {cost * 1e6:7.0f} us  {cost / base:5.2f}x chat")
    print(f"  worst {worst:.2f}x chat  target <= 2.0x: {'ok' if worst <= 2.0 else 'MISSED'}")


def near_misses(length: int = 200) -> str:
    """A query of `length` characters: the corpus's longest words, each with one letter wrong."""
    index = load_corpus().index
    longest = sorted((w for w in index.postings if "'" not in w), key=lambda w: (-len(w), w))
    parts: list[str] = []
    for word in longest:
        middle = len(word) // 2
        parts.append(word[:middle] + ("x" if word[middle] != "x" else "y") + word[middle + 1 :])
        if len(" ".join(parts)) >= length:
            break
    return " ".join(parts)[:length]


def search_cost() -> None:
    corpus = load_corpus()
    query = near_misses()
    searched = corpus.index  # built once; what is measured is one uncached search

    def search() -> None:
        searched._cache.clear()
        corpus.search([query])

    def nothing_found() -> None:  # every word misses: the "did you mean" path
        searched._cache.clear()
        answer(
            "search " + " ".join(f"zq{n}vx{n}" for n in range(MAX_QUERY_WORDS)),
            corpus=corpus,
            today=dt.date(2026, 11, 28),
            rng=random.Random(1),
        )

    print(f"search, uncached (best of 5), a 200-character query of near misses: {query[:40]}…")
    for label, fn in [("search", search), ("answer, nothing found", nothing_found)]:
        cost = per_call(fn, 50) * 1e6
        print(
            f"  {label:<22} {cost:7.0f} us  target <= 1000 us: {'ok' if cost <= 1000 else 'MISSED'}"
        )


def autocomplete_cost() -> None:
    corpus = load_corpus()
    typed = ["overfiting", "dropout layers", "learning rate", "#42", "today", "hyperparamters"]
    typed.append(near_misses())
    samples = []
    for text in typed:
        for end in range(1, len(text) + 1):
            best = float("inf")
            for _ in range(3):
                corpus.index._cache.clear()  # each keystroke is a new prefix: uncached
                start = time.perf_counter()
                suggest_queries(corpus, text[:end])
                best = min(best, time.perf_counter() - start)
            samples.append(best * 1e6)
    samples.sort()
    p50, p99 = samples[len(samples) // 2], samples[int(len(samples) * 0.99)]
    print(
        f"autocomplete per keystroke, uncached ({len(samples)} keystrokes, best of 3 each): "
        f"p50 {p50:.0f} us, p99 {p99:.0f} us  target p99 <= 1000 us: "
        f"{'ok' if p99 <= 1000 else 'MISSED'}"
    )


if __name__ == "__main__":
    cold_start()
    answer_latency()
    trigger_throughput()
    nan_scan()
    search_cost()
    autocomplete_cost()
