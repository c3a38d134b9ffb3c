"""What a chat platform is to the bot: the `Platform` port and its one error.

SDK-free on purpose (an import-linter contract checks it): the runner and the composition root
import this module without loading slack_bolt or discord.py. Each adapter (`console`, the
`slack` and `discord` packages) provides a class of this shape; the runner starts, waits on and
stops them, and the daily scheduler posts through their `poster`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from bot.poster import Poster

HealthCheck = Callable[[], bool]  # "is the rest of the bot (the scheduler) up?", for probes


class StartupError(Exception):
    """A platform cannot start (bad token, refused connection): one line for the operator."""


class Platform(Protocol):
    """A chat platform as the runner sees it."""

    name: str

    @property
    def poster(self) -> Poster:
        """How the scheduler posts to this platform."""
        ...

    async def start(self) -> None:
        """Connect; raise `StartupError` with a clear line when that is impossible."""
        ...

    async def wait(self) -> None:
        """Return when the platform ends by itself (the console at EOF); else run forever."""
        ...

    async def stop(self) -> None:
        """Disconnect cleanly."""
        ...

    async def ready(self) -> bool:
        """Whether it is connected and taking work now (for ``/readyz`` and metrics)."""
        ...


def no_scheduler() -> bool:
    """The default `healthy` check: built without a scheduler, the bot cannot post daily."""
    return False


__all__ = ["HealthCheck", "Platform", "StartupError", "no_scheduler"]
