"""Claiming daily posts in batches: one database round trip for every post ready to go.

A post is claimed only when it can start (it holds a place under the concurrency limits),
so a stop never finds claims queued behind others. Posts that become ready together (a
fan-out's first wave, the places freed when a wave's posts return) are claimed together:
the first asks, the others join it until its statement is sent, and those that become
ready while it is in the database form the next batch. A batch is therefore as large as
the free concurrency, and a replica that claims many posts a second makes a few statements,
not one per channel (`bot.storage.posts.PostQueries.claim_posts`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.storage import PostRecord, WantedPost

if TYPE_CHECKING:
    from bot.chat import Clock
    from bot.storage import Storage


class ClaimBatcher:
    """Gathers concurrent claims into batches; each caller gets its own record or None."""

    def __init__(
        self,
        storage: Storage,
        *,
        owner: str,
        clock: Clock,
        lease: dt.timedelta,
        dead_after: dt.timedelta,
    ) -> None:
        """Claims for `owner` (a scheduler), with its lease and its rule for dead owners."""
        self.storage = storage
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self.dead_after = dead_after
        self._waiting: list[tuple[WantedPost, asyncio.Future[PostRecord | None]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def _take(self, batch: Sequence[WantedPost]) -> list[PostRecord]:
        """One statement's batch (`Storage.claim_posts`)."""
        return await self.storage.claim_posts(
            batch, owner=self.owner, now=self.clock(), lease=self.lease, dead_after=self.dead_after
        )

    async def _give_back(self, record: PostRecord) -> None:
        """Release a claim nobody will post: not attempted, so the next owner posts at once."""
        await self.storage.release_post(
            record.platform,
            record.channel,
            record.local_date,
            owner=self.owner,
            now=self.clock(),
            attempted=False,
        )

    async def claim(self, wanted: WantedPost) -> PostRecord | None:
        """Claim one post with whatever else is ready; its record if we own it now, else None.

        A caller cancelled while its batch is in the database (a stop's grace ran out) gives
        back what the batch got for it: nothing was attempted, so the next owner posts at once.
        """
        future: asyncio.Future[PostRecord | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((wanted, future))
        if self._sending is None:
            self._sending = asyncio.ensure_future(self._send())
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                record = await future
                if record is not None:
                    await self._give_back(record)
            raise

    async def _send(self) -> None:
        try:
            await asyncio.sleep(0)  # posts let through at the same moment join this batch
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._send_batch(batch)
        finally:
            self._sending = None

    async def _send_batch(
        self, batch: list[tuple[WantedPost, asyncio.Future[PostRecord | None]]]
    ) -> None:
        try:
            records = await self._take([wanted for wanted, _ in batch])
        except BaseException as err:
            for _, future in batch:
                if future.done():
                    continue
                if isinstance(err, Exception):
                    future.set_exception(err)
                else:
                    future.cancel()
            if not isinstance(err, Exception):
                raise
            return
        by_key = {(r.platform, r.channel, r.local_date): r for r in records}
        for wanted, future in batch:
            # The same post asked twice in a batch (a slot's job and the sweep): one gets it.
            future.set_result(
                by_key.pop((wanted.platform, wanted.channel, wanted.local_date), None)
            )
