"""`make audit-web`: Lighthouse's accessibility, best-practices and SEO scores of the pages.

Starts a real ``maxim-bot run`` with only the pages (a temporary config: no console, no
platform, ``[web]`` on a free loopback port that is also its ``public_url``, SQLite in a
temporary folder, and ``discord.client_id`` so that "Add to Discord" is on the landing page),
waits until ``/`` answers, runs Lighthouse (the npm package locked in bench/lighthouse, with
Debian's Chromium headless) on ``/`` and ``/maxims/34``, prints the scores and every audit
that lost points, and exits 1 when a score misses its bar: accessibility 0.95, best practices
0.9, SEO 0.9 (issue 20). ``--url`` audits pages already served instead (a stand-in, a
staging site).

Lighthouse runs with its defaults otherwise: a mobile screen (the bars are about a phone
too) and a fresh Chromium profile each run. Not part of `make bench` or CI: a run takes
tens of seconds and needs Lighthouse's 185 MB of npm packages.

Run it as ``python bench/audit_web.py [--url BASE] [--reports DIR]`` from the repository
root (``make audit-web`` installs Lighthouse first).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.web.tools import CHROMIUM_FLAGS, CHROMIUM_HINT, find_chromium  # noqa: E402

LIGHTHOUSE = ROOT / "bench" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
LIGHTHOUSE_HINT = (
    "Lighthouse is not installed: `make audit-web` runs "
    "`npm ci --ignore-scripts --prefix bench/lighthouse` first"
)
PAGES = ("/", "/maxims/34")
BARS = {"accessibility": 0.95, "best-practices": 0.9, "seo": 0.9}
"""The lowest score each Lighthouse category may have (issue 20's quality bars)."""
DISCORD_CLIENT_ID = 987654321098765432
"""Any id: it only builds the "Add to Discord" invite link, which Lighthouse does not follow."""
START_TIMEOUT = 60.0
LIGHTHOUSE_TIMEOUT = 300.0
# Variables that would start a platform beside the pages: the audit runs the pages alone.
PLATFORM_ENV = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
    "DISCORD_TOKEN",
    "MAXIM_BOT_CONFIG",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def config_text(port: int, folder: Path) -> str:
    """The pages alone, on `port` of loopback, public at that very address."""
    return f"""\
[console]
enabled = false

[storage]
url = "sqlite+aiosqlite:///{folder / "audit.db"}"

[discord]
client_id = {DISCORD_CLIENT_ID}

[web]
enabled = true
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"
"""


def answers(url: str) -> bool:
    """Whether GET `url` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (our loopback)
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def running_pages(folder: Path) -> Iterator[str]:
    """``maxim-bot run`` with only the pages; yields their base URL, stops the bot after."""
    port = free_port()
    config = folder / "config.toml"
    config.write_text(config_text(port, folder), encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name not in PLATFORM_ENV}
    log = (folder / "bot.log").open("w+", encoding="utf-8")
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(config)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not answers(base + "/"):
            if bot.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise SystemExit(
                    f"audit-web: the bot did not serve {base}/ (exit {bot.returncode}):\n"
                    + log.read()[-2000:]
                )
            time.sleep(0.2)
        yield base
    finally:
        if bot.poll() is None:
            bot.send_signal(signal.SIGTERM)
            try:
                bot.wait(30)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()
        log.close()


def lighthouse(url: str, chromium: str) -> dict[str, Any]:
    """Lighthouse's report (its JSON) of `url`: the three categories only."""
    command = [
        str(LIGHTHOUSE),
        url,
        "--only-categories=accessibility,best-practices,seo",
        "--output=json",
        "--output-path=stdout",
        "--quiet",
        f"--chrome-flags={' '.join(CHROMIUM_FLAGS)}",
    ]
    try:
        done = subprocess.run(
            command,
            env={**os.environ, "CHROME_PATH": chromium},
            capture_output=True,
            text=True,
            timeout=LIGHTHOUSE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise SystemExit(f"audit-web: lighthouse ran over {error.timeout:.0f} s on {url}") from None
    if done.returncode != 0:
        raise SystemExit(f"audit-web: lighthouse failed on {url}:\n{done.stderr[-2000:]}")
    report: dict[str, Any] = json.loads(done.stdout)
    if report.get("runtimeError"):
        raise SystemExit(f"audit-web: lighthouse could not load {url}: {report['runtimeError']}")
    return report


def scores(report: dict[str, Any]) -> dict[str, float | None]:
    """Each category's score, 0 to 1 (None when Lighthouse could not score it)."""
    return {name: report["categories"][name]["score"] for name in BARS}


def lost_points(report: dict[str, Any]) -> list[str]:
    """The audits that counted and did not pass: what to fix to raise a score."""
    lines = []
    for name in BARS:
        for ref in report["categories"][name]["auditRefs"]:
            audit = report["audits"][ref["id"]]
            if ref["weight"] > 0 and audit["score"] is not None and audit["score"] < 1:
                lines.append(f"    {name}: {audit['title']} ({ref['id']}, {audit['score']:.2f})")
    return lines


def verdicts(page: str, found: dict[str, float | None]) -> tuple[str, bool]:
    """One line of scores for `page` and whether every score meets its bar."""
    cells, ok = [], True
    for name, bar in BARS.items():
        score = found[name]
        meets = score is not None and score >= bar
        ok = ok and meets
        shown = "n/a" if score is None else f"{score:.2f}"
        cells.append(f"{name} {shown} (>= {bar}{'' if meets else ' MISSED'})")
    return f"  {page:12} " + "  ".join(cells), ok


def audit(base: str, pages: Sequence[str], chromium: str, reports: Path | None) -> int:
    """Audit each page of `base`; print the scores; 0 when every bar is met, else 1."""
    print(f"Lighthouse on {base} (Chromium {chromium})", flush=True)
    all_ok = True
    for page in pages:
        started = time.monotonic()
        report = lighthouse(base + page, chromium)
        line, ok = verdicts(page, scores(report))
        all_ok = all_ok and ok
        print(f"{line}  [{time.monotonic() - started:.0f} s]", flush=True)
        for lost in lost_points(report):
            print(lost)
        if reports is not None:
            reports.mkdir(parents=True, exist_ok=True)
            name = page.strip("/").replace("/", "-") or "index"
            (reports / f"{name}.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print("ok: every bar met" if all_ok else "MISSED: a score is under its bar", flush=True)
    return 0 if all_ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="audit the pages served here instead of starting the bot")
    parser.add_argument("--reports", type=Path, help="also save each Lighthouse JSON report here")
    parser.add_argument(
        "pages", nargs="*", default=list(PAGES), help="paths (default: / /maxims/34)"
    )
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print(f"audit-web: {CHROMIUM_HINT}", file=sys.stderr)
        return 2
    if not LIGHTHOUSE.exists():
        print(f"audit-web: {LIGHTHOUSE_HINT}", file=sys.stderr)
        return 2
    if args.url:
        return audit(args.url.rstrip("/"), args.pages, chromium, args.reports)
    with (
        tempfile.TemporaryDirectory(prefix="audit-web-") as folder,
        running_pages(Path(folder)) as base,
    ):
        return audit(base, args.pages, chromium, args.reports)


if __name__ == "__main__":
    sys.exit(main())
