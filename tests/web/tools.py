"""What the pages' quality bars are checked with: the W3C HTML checker and a real browser.

- `HtmlChecker` runs the W3C Nu HTML Checker (``vnu.jar`` from the npm package ``vnu-jar``,
  installed into tests/web/node_modules by ``.ci/test-packages.sh``) with the system's Java.
  Java starts slowly (seconds on two busy cores), so it checks a batch of documents in one
  JVM start: `HtmlChecker.errors` takes them all at once.
- `chromium` drives Debian's Chromium headless through Playwright (the Python package: no
  browser of its own is ever downloaded, since ``playwright install`` never runs; it launches
  ``/usr/bin/chromium``). `Chromium.visit` opens a page at a width and gathers what the tests
  ask about: the visible text, a screenshot, whether it scrolls sideways, whether each image
  loaded, every request it made (anything off 127.0.0.1 is recorded, then refused, so a test
  never waits on the internet) and the console's errors.

Where a program is missing, `html_checker` and `chromium_path` skip the calling test with
an install hint, or fail it under CI (`tests.helpers.missing_program`). bench/audit_web.py
shares `CHROMIUM_FLAGS` and `find_chromium` for Lighthouse.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from playwright.async_api import Browser, ConsoleMessage, Request, Route, async_playwright

from tests.helpers import missing_program

HERE = Path(__file__).resolve().parent
VNU_JAR = HERE / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
CHROMIUM = "/usr/bin/chromium"
"""Debian's Chromium (``apt-get install chromium``): the browser the tests and the audit use."""

# What Chromium needs here: root (no sandbox), no display or GPU, and nothing of its own on
# the network (QUIC, sync, component updates, background fetches) in a machine whose only
# way out is the package registries. Playwright gives each launch a fresh profile of its own.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_HOST = "127.0.0.1"
NOT_REQUESTS = ("data", "blob", "about", "chrome", "chrome-extension")
"""URL schemes a page uses without asking any host: never off-host requests."""

INSTALL_HINT = "(or run `bash .ci/test-packages.sh`, which installs all the tests need)"
VNU_HINT = (
    "the W3C HTML checker is not installed: `npm ci --ignore-scripts --prefix tests/web` "
    f"puts vnu.jar in tests/web/node_modules {INSTALL_HINT}"
)
JAVA_HINT = f"java is not installed: `apt-get install default-jre-headless` {INSTALL_HINT}"
CHROMIUM_HINT = (
    "Chromium is not installed: `apt-get install chromium`, or set CHROME_PATH to another "
    f"Chromium or Chrome {INSTALL_HINT}"
)
# Java's quick start for a short run: the C1 compiler alone (the checker's run is over before
# C2 pays off) takes a batch from about 3 s to about 1.3 s here. vnu evaluates the HTML
# schema on a deep stack, and with C1 alone Java's default 1 MB stack overflows (vnu then
# prints no report and exits 1): hence -Xss4m.
JAVA_OPTIONS = ("-Xss4m", "-XX:TieredStopAtLevel=1")
VNU_TIMEOUT = 300.0
"""Seconds one batch may take: a JVM start and a few pages take seconds, on a busy machine tens."""


class CheckerError(RuntimeError):
    """The HTML checker itself failed (no JSON, a crash): not a verdict on any document."""


@dataclass(frozen=True)
class HtmlChecker:
    """The W3C Nu HTML Checker: ``java -jar vnu.jar``, errors only (warnings are advice)."""

    java: str
    jar: Path

    def errors(self, documents: Mapping[str, str]) -> dict[str, list[str]]:
        """Each document's errors (name: HTML text), all checked in one JVM start.

        An error reads ``line 12: Element “div” not allowed … [extract]``; a document
        without errors maps to ``[]``. The documents are written to files (``0.html``, ...)
        because vnu reads files or URLs, and a file keeps the HTTP status out of its verdict:
        the 404 page is checked as a page like any other.
        """
        with tempfile.TemporaryDirectory(prefix="vnu-") as folder:
            names: dict[str, str] = {}
            for index, (name, html) in enumerate(documents.items()):
                path = Path(folder) / f"{index}.html"
                path.write_text(html, encoding="utf-8")
                names[path.name] = name
            report = self._run(sorted(str(Path(folder) / file) for file in names))
        found: dict[str, list[str]] = {name: [] for name in documents}
        for message in report:
            if message.get("type") == "info":  # a warning: --errors-only leaves none anyway
                continue
            file = Path(urlsplit(str(message.get("url", ""))).path).name
            if file not in names:
                raise CheckerError(f"vnu: a message about no document given: {message}")
            found[names[file]].append(describe(message))
        return found

    def errors_in(self, html: str) -> list[str]:
        """The errors of one document (a JVM start of its own: batch with `errors`)."""
        return self.errors({"document": html})["document"]

    def _run(self, files: Sequence[str]) -> list[dict[str, Any]]:
        command = [
            self.java,
            *JAVA_OPTIONS,
            "-jar",
            str(self.jar),
            "--format",
            "json",
            "--errors-only",
            "--exit-zero-always",
            "--stdout",
            *files,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=VNU_TIMEOUT, check=False
        )
        try:
            messages = json.loads(done.stdout)["messages"]
        except (ValueError, KeyError) as error:
            raise CheckerError(
                f"vnu exited {done.returncode} without a JSON report: {error}; "
                f"stdout {done.stdout[-500:]!r}, stderr {done.stderr[-500:]!r}"
            ) from error
        if done.returncode != 0:
            raise CheckerError(f"vnu exited {done.returncode}: {done.stderr[-500:]!r}")
        return list(messages)


def describe(message: Mapping[str, Any]) -> str:
    """One line for one vnu message: where, what, and the markup around it."""
    where = f"line {message['lastLine']}: " if "lastLine" in message else ""
    extract = " ".join(str(message.get("extract", "")).split())
    return f"{where}{message.get('message', message)}" + (f" [{extract}]" if extract else "")


def find_html_checker() -> HtmlChecker | str:
    """The checker ready to run, or the install hint for what is missing."""
    java = shutil.which("java")
    if java is None:
        return JAVA_HINT
    if not VNU_JAR.is_file():
        return VNU_HINT
    return HtmlChecker(java, VNU_JAR)


def html_checker() -> HtmlChecker:
    """The checker, or the test skips with an install hint (fails under CI)."""
    found = find_html_checker()
    if isinstance(found, str):
        missing_program(found, "the W3C HTML checks")
    return found


def html_errors(html: str) -> list[str]:
    """The W3C checker's errors in `html` (skips the test where the checker is missing)."""
    return html_checker().errors_in(html)


def fetch(url: str, timeout: float = 30.0) -> tuple[int, str]:
    """The status and text of GET `url`, whatever the status (a 404 page is a page too)."""
    try:
        # A test's own loopback URL.
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), error.read().decode()


def find_chromium() -> str | None:
    """Debian's Chromium (or the one CHROME_PATH names), or None where it is not installed.

    CHROME_PATH is Lighthouse's own variable: set, it names the same browser for both.
    """
    path = os.environ.get("CHROME_PATH") or CHROMIUM
    return path if os.access(path, os.X_OK) else None


def chromium_path() -> str:
    """Chromium's path, or the test skips with an install hint (fails under CI)."""
    path = find_chromium()
    if path is None:
        missing_program(CHROMIUM_HINT, "the browser tests")
    return path


def is_blank(png: bytes) -> bool:
    """Whether a screenshot is all one colour: the page drew nothing (or only its background)."""
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB").getcolors(maxcolors=1) is not None


def is_off_host(url: str, host: str = LOCAL_HOST) -> bool:
    """Whether asking for `url` goes to a host other than `host` (data: and the like never do)."""
    parts = urlsplit(url)
    return parts.scheme not in NOT_REQUESTS and parts.hostname != host


@dataclass(frozen=True)
class Picture:
    """An ``<img>`` of a page: the URL it shows (``currentSrc``) and its intrinsic width."""

    src: str
    natural_width: int

    @property
    def loaded(self) -> bool:
        """Whether it loaded and decoded: a broken or missing image has no width."""
        return self.natural_width > 0


@dataclass(frozen=True)
class Visit:
    """What one page showed in Chromium at one width."""

    url: str
    status: int | None
    text: str
    """The visible text (``innerText``: nothing hidden by CSS)."""
    screenshot: bytes = field(repr=False)
    """The whole page, as a PNG (left out of the repr a failing assertion prints)."""
    scroll_width: int
    inner_width: int
    pictures: tuple[Picture, ...]
    requests: tuple[str, ...]
    """Every URL the page asked for, the page's own first, off-host ones included."""
    console_errors: tuple[str, ...]

    @property
    def scrolls_horizontally(self) -> bool:
        """Whether the page is wider than the window: the reader has to scroll sideways."""
        return self.scroll_width > self.inner_width

    @property
    def blank(self) -> bool:
        """Whether the screenshot is all one colour."""
        return is_blank(self.screenshot)

    @property
    def off_host_requests(self) -> list[str]:
        """The requests to any host but 127.0.0.1 (they were refused, not sent)."""
        return [url for url in self.requests if is_off_host(url)]

    def pictures_at(self, path: str) -> list[Picture]:
        """The images whose URL has this path (``/cards/34.png``), whatever the host or query."""
        return [picture for picture in self.pictures if urlsplit(picture.src).path == path]


# Lazy images load when scrolled to; a screenshot does not scroll. Made eager and decoded,
# every image has loaded or failed by the time the page is measured; one that does neither
# within IMAGE_WAIT_MS is measured as it is (not loaded) rather than hang the test.
IMAGE_WAIT_MS = 10_000
LOAD_IMAGES = """(waitMs) => Promise.race([
    Promise.all(Array.from(document.images, (image) => {
        image.loading = "eager";
        return image.decode().then(() => true, () => false);
    })),
    new Promise((resolve) => setTimeout(resolve, waitMs)),
])"""
MEASURE = """() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    pictures: Array.from(document.images, (image) => [image.currentSrc || image.src,
                                                      image.naturalWidth]),
})"""


class Chromium:
    """A headless Chromium: each `visit` in a fresh context (no cookies, no cache shared)."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser

    async def visit(self, url: str, *, width: int = 375, height: int = 800) -> Visit:
        """Open `url` in a window `width` × `height` CSS pixels and record what it shows."""
        requests: list[str] = []
        errors: list[str] = []

        async def keep_local(route: Route) -> None:
            if is_off_host(route.request.url):
                await route.abort("blockedbyclient")
            else:
                await route.continue_()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                errors.append(message.text)

        def on_request(request: Request) -> None:
            requests.append(request.url)

        context = await self._browser.new_context(
            viewport={"width": width, "height": height}, service_workers="block"
        )
        try:
            await context.route("**/*", keep_local)
            page = await context.new_page()
            page.on("request", on_request)
            page.on("console", on_console)
            page.on("pageerror", lambda error: errors.append(str(error)))
            response = await page.goto(url, wait_until="load")
            await page.evaluate(LOAD_IMAGES, IMAGE_WAIT_MS)
            await page.evaluate("() => document.fonts.ready.then(() => true)")
            measured = await page.evaluate(MEASURE)
            text = await page.inner_text("body")
            screenshot = await page.screenshot(full_page=True)
        finally:
            await context.close()
        return Visit(
            url=url,
            status=None if response is None else response.status,
            text=text,
            screenshot=screenshot,
            scroll_width=int(measured["scrollWidth"]),
            inner_width=int(measured["innerWidth"]),
            pictures=tuple(Picture(str(src), int(width)) for src, width in measured["pictures"]),
            requests=tuple(requests),
            console_errors=tuple(errors),
        )


@contextlib.asynccontextmanager
async def chromium(executable: str | None = None) -> AsyncIterator[Chromium]:
    """Launch headless Chromium (`executable`, else Debian's) for the block's visits."""
    path = executable or chromium_path()
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=path, args=list(CHROMIUM_FLAGS), headless=True
        )
        try:
            yield Chromium(browser)
        finally:
            await browser.close()
