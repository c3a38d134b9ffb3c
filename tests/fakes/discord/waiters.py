"""Waiting for what the bot does on the emulated Discord, without sleeping.

A mixin of `FakeDiscord`: each waiter re-checks its condition whenever something is recorded
(an `asyncio.Condition`), and a timeout raises `AssertionError` with a summary of what *was*
recorded, so a failing test says what the bot did instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.fakes.discord.records import (
    RecordedCallback,
    RecordedMessage,
    RecordedReaction,
    RecordedWebhookMessage,
)


class Waiters:
    """The ``wait_for_*`` helpers (see the module docstring)."""

    async def wait_for(
        self,
        predicate: Callable[[], bool],
        *,
        timeout: float = 5.0,
        description: str = "condition",
    ) -> None:
        """Wait until ``predicate()`` holds (re-checked whenever something is recorded).

        Raises ``AssertionError`` with a summary of the recordings on timeout.
        """
        try:
            async with asyncio.timeout(timeout), self._cond:
                await self._cond.wait_for(predicate)
        except TimeoutError:
            summary = self.describe()
            raise AssertionError(
                f"FakeDiscord: timed out after {timeout}s waiting for {description}\n{summary}"
            ) from None

    async def wait_for_messages(
        self, count: int = 1, timeout: float = 5.0, *, channel_id: int | None = None
    ) -> list[RecordedMessage]:
        """Wait until at least ``count`` channel posts (optionally in one channel) exist."""

        def matching() -> list[RecordedMessage]:
            return [m for m in self.messages if channel_id is None or m.channel_id == channel_id]

        await self.wait_for(
            lambda: len(matching()) >= count,
            timeout=timeout,
            description=f"{count} channel message(s)",
        )
        return matching()

    async def wait_for_callback(
        self, interaction_id: int, timeout: float = 5.0
    ) -> RecordedCallback:
        """Wait for the callback answering ``interaction_id``."""

        def found() -> RecordedCallback | None:
            return next(
                (c for c in self.interaction_callbacks if c.interaction_id == interaction_id), None
            )

        await self.wait_for(
            lambda: found() is not None,
            timeout=timeout,
            description=f"callback of interaction {interaction_id}",
        )
        result = found()
        assert result is not None
        return result

    async def wait_for_webhook_messages(
        self,
        count: int = 1,
        timeout: float = 5.0,
        *,
        interaction_id: int | None = None,
        action: str | None = None,
    ) -> list[RecordedWebhookMessage]:
        """Wait until ``count`` webhook operations (optionally filtered) were recorded."""

        def matching() -> list[RecordedWebhookMessage]:
            return [
                w
                for w in self.webhook_messages
                if (interaction_id is None or w.interaction_id == interaction_id)
                and (action is None or w.action == action)
            ]

        await self.wait_for(
            lambda: len(matching()) >= count,
            timeout=timeout,
            description=f"{count} webhook message(s)",
        )
        return matching()

    async def wait_for_reactions(
        self, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedReaction]:
        """Wait until ``count`` reactions were added."""
        await self.wait_for(
            lambda: len(self.reactions) >= count,
            timeout=timeout,
            description=f"{count} reaction(s)",
        )
        return list(self.reactions)

    async def wait_ready(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Wait until READY and the GUILD_CREATEs were sent ``count`` times."""
        await self.wait_for(
            lambda: self.ready_count >= count, timeout=timeout, description=f"{count} READY"
        )

    async def wait_resumed(self, timeout: float = 5.0, *, count: int = 1) -> None:
        """Wait until ``count`` RESUMEs succeeded (RESUMED sent)."""
        await self.wait_for(
            lambda: self.resume_count >= count, timeout=timeout, description=f"{count} RESUME"
        )

    def describe(self) -> str:
        """Human summary of what was recorded (used in waiter failures)."""
        synced = {k: [c["name"] for c in v] for k, v in self.synced_commands.items()}
        lines = [
            f"gateway: identify={self.identify_count} ready={self.ready_count} "
            f"resume={self.resume_count} connections="
            + ", ".join(
                f"#{c.number} {c.path} closed={c.closed} code={c.close_code}"
                for c in self.gateway_connections
            ),
            f"messages ({len(self.messages)}):",
            *(
                f"  [{m.channel_id}] {m.content!r} embeds={len(m.embeds)}"
                for m in self.messages[-10:]
            ),
            f"interaction callbacks ({len(self.interaction_callbacks)}):",
            *(
                f"  {c.interaction_id} type={c.type} data={c.data!r}"
                for c in self.interaction_callbacks[-10:]
            ),
            f"webhook messages ({len(self.webhook_messages)}):",
            *(
                f"  {w.action} {w.interaction_id} {w.payload!r}"
                for w in self.webhook_messages[-10:]
            ),
            f"reactions: {[r.emoji for r in self.reactions]}",
            f"synced commands: {synced}",
            f"last requests ({len(self.requests)}):",
            *(f"  {r.method} {r.path} -> {r.status}" for r in self.requests[-15:]),
        ]
        return "\n".join(lines)

    async def _notify(self) -> None:
        async with self._cond:
            self._cond.notify_all()
