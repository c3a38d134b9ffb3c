"""Whether the bot is ready for work: platforms connected, storage answering, scheduler running.

`/readyz` reports it part by part, so an operator sees which one is down.

SDK-free: it sees platforms only through the `Platform` port's `ready()`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.platforms import Platform

log = logging.getLogger(__name__)

STORAGE_TIMEOUT = 1.0  # seconds: a database slower than this to answer SELECT 1 is not ready


@dataclass(frozen=True)
class Readiness:
    """Each part's state: ``up``/``down``, ``ok``/``error``/``timeout``, ``running``/``stopped``."""

    parts: dict[str, str]

    @property
    def ready(self) -> bool:
        """Whether every part is in its good state."""
        return all(state in ("up", "ok", "running") for state in self.parts.values())


async def platform_states(platforms: Sequence[Platform]) -> dict[str, bool]:
    """Each platform's name and whether it is connected now."""
    states = {}
    for platform in platforms:
        try:
            states[platform.name] = bool(await platform.ready())
        except Exception:
            log.debug("readiness of %s failed", platform.name, exc_info=True)
            states[platform.name] = False
    return states


async def storage_state(ping: Callable[[], Awaitable[None]]) -> str:
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
    platforms: Sequence[Platform],
    ping: Callable[[], Awaitable[None]],
    scheduler_running: Callable[[], bool],
) -> Readiness:
    """Every part's state now."""
    parts = {
        name: "up" if up else "down" for name, up in (await platform_states(platforms)).items()
    }
    parts["storage"] = await storage_state(ping)
    parts["scheduler"] = "running" if scheduler_running() else "stopped"
    return Readiness(parts)
