"""Whether the bot is ready for work: platforms connected, storage answering, scheduler running.

`/readyz` reports it part by part, so an operator sees which one is down. A probe does not
compute it: `ReadinessCache` checks at most once every `FRESH_SECONDS`, and every probe in
between is served that answer. When each probe pinged the database itself, a flood of probes
filled the connection pool: `/maxim today` queued behind the pings, and pings that queued
longer than `STORAGE_TIMEOUT` reported storage down, so readiness flapped to 503 under load
that the bot was handling. Now a flood costs one ``SELECT 1`` a second.

A storage check that merely times out is not an outage yet: up to `SLOW_CHECKS_TOLERATED`
in a row read ``slow`` and keep the bot ready, since one busy second (a pause of the loop, a
vacuum) should not take the bot out of its load balancer. A database that refuses us is
``error`` at once, and one that stays hung reads ``timeout`` (503) from the check after.

Nothing here imports the layers above: a platform is only a `Connection` (a name and
``ready()``), storage a ``ping`` callable and the scheduler a predicate, all handed in by the
composition root. The import-linter layers contract holds ops to that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)

STORAGE_TIMEOUT = 1.0  # seconds: a database slower than this to answer SELECT 1 is slow
FRESH_SECONDS = 1.0  # an answer is served this long before the next probe checks again
SLOW_CHECKS_TOLERATED = 2  # storage timeouts in a row that still count as ready ("slow")
GOOD_STATES = frozenset({"up", "ok", "slow", "running"})

Ping = Callable[[], Awaitable[None]]  # storage's ``SELECT 1`` (`bot.storage.Storage.ping`)


class Connection(Protocol):
    """A platform as readiness sees it (each `bot.platforms.Platform` is one)."""

    @property
    def name(self) -> str:
        """The platform's name, the part's name in ``/readyz``."""
        ...

    async def ready(self) -> bool:
        """Whether it is connected and taking work now."""
        ...


@dataclass(frozen=True)
class Readiness:
    """Each part's state, by part name.

    Platforms are ``up``/``down``; storage ``ok``/``slow``/``error``/``timeout``; the
    scheduler ``running``/``stopped``.
    """

    parts: dict[str, str]

    @property
    def ready(self) -> bool:
        """Whether every part is in a good state."""
        return all(state in GOOD_STATES for state in self.parts.values())


async def platform_states(platforms: Sequence[Connection]) -> dict[str, bool]:
    """Each platform's name and whether it is connected now."""
    states = {}
    for platform in platforms:
        try:
            states[platform.name] = bool(await platform.ready())
        except Exception:
            log.debug("readiness of %s failed", platform.name, exc_info=True)
            states[platform.name] = False
    return states


async def storage_state(ping: Ping) -> str:
    """``ok`` when `ping` answers within `STORAGE_TIMEOUT`, else ``timeout`` or ``error``."""
    try:
        async with asyncio.timeout(STORAGE_TIMEOUT):
            await ping()
    except TimeoutError:
        return "timeout"
    except Exception as err:
        log.warning("readiness: storage did not answer (%s)", type(err).__name__)
        return "error"
    return "ok"


async def check_readiness(
    platforms: Sequence[Connection],
    ping: Ping,
    scheduler_running: Callable[[], bool],
) -> Readiness:
    """Every part's state now (one storage ping)."""
    parts = {
        name: "up" if up else "down" for name, up in (await platform_states(platforms)).items()
    }
    parts["storage"] = await storage_state(ping)
    parts["scheduler"] = "running" if scheduler_running() else "stopped"
    return Readiness(parts)


class ReadinessCache:
    """The bot's readiness, checked at most once every `FRESH_SECONDS` however many ask.

    Probes that arrive while a check is under way wait for that one check; none starts its
    own. `clock` is a monotonic clock in seconds (tests pass one they move by hand).
    """

    def __init__(
        self,
        platforms: Sequence[Connection],
        ping: Ping,
        scheduler_running: Callable[[], bool],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.platforms = platforms
        self.ping = ping
        self.scheduler_running = scheduler_running
        self.clock = clock
        self._answer: Readiness | None = None
        self._checked_at = 0.0
        self._check: asyncio.Task[Readiness] | None = None
        self._slow_checks = 0

    async def current(self) -> Readiness:
        """The last answer while it is fresh, else that of the check under way or of a new one."""
        answer = self._answer
        if answer is not None and self.clock() - self._checked_at < FRESH_SECONDS:
            return answer
        if self._check is None:
            self._check = asyncio.create_task(self._refresh(), name="readiness check")
        # Shielded: a prober that hangs up must not cancel the check the others wait for.
        return await asyncio.shield(self._check)

    async def close(self) -> None:
        """Cancel a check under way (the probe server stops)."""
        check, self._check = self._check, None
        if check is not None:
            check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await check

    async def _refresh(self) -> Readiness:
        started = self.clock()
        try:
            found = await check_readiness(self.platforms, self.ping, self.scheduler_running)
            answer = self._tolerate_slow_storage(found)
            self._answer, self._checked_at = answer, started
            return answer
        finally:
            self._check = None

    def _tolerate_slow_storage(self, found: Readiness) -> Readiness:
        """``timeout`` reads ``slow`` (ready) until it has lasted `SLOW_CHECKS_TOLERATED` checks."""
        if found.parts.get("storage") != "timeout":
            self._slow_checks = 0
            return found
        self._slow_checks += 1
        if self._slow_checks > SLOW_CHECKS_TOLERATED:
            return found
        log.info("readiness: storage slower than %g s, still ready", STORAGE_TIMEOUT)
        return Readiness({**found.parts, "storage": "slow"})
