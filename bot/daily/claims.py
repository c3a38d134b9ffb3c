"""Claiming and completing daily posts in batches: one round trip for every post ready.

A post is claimed only when it holds a ready place (`bot.daily.pacing`: at most as many as
may be on their way at once), so a stop finds only a few claims queued, and gives them back.
Posts that become ready together (a fan-out's first wave, the places freed when a wave's
posts return) are claimed together:
the first asks, the others join it until its statement is sent, and those that become
ready while it is in the database form the next batch. A batch is therefore as large as
the free concurrency, and a replica that posts many a second makes a few statements, not
one per channel (`bot.storage.posts.PostQueries.claim_posts`). Posts that come back from
the platform are recorded as posted in batches too; a recording waits for the posts still on
their way, up to `RECORD_LINGER` seconds, so that a busy minute records them a dozen at a time
rather than one or two. The wait is safe: until the record is written the claim is ours, and
should the process die meanwhile the next owner looks for the post on the platform first.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

from bot.storage import PostRecord, WantedPost

if TYPE_CHECKING:
    from bot.chat import Clock
    from bot.storage import Storage

T = TypeVar("T")
R = TypeVar("R")
PostKey = tuple[str, str, dt.date]
RECORD_LINGER = 0.05  # seconds a recording waits for the posts on their way to join it
MAX_BATCH = 250  # items in one statement (well inside every database's limit on parameters)


class Batches(Generic[T, R]):
    """Items submitted while a batch is in the database go together in the next one."""

    def __init__(
        self,
        send: Callable[[list[T]], Awaitable[list[R]]],
        abandoned: Callable[[R], Awaitable[None]] | None = None,
        linger: Callable[[], float] = lambda: 0.0,
    ) -> None:
        """`send` answers a batch, a result per item in order.

        `abandoned` undoes a result whose caller was cancelled while its batch was out.
        `linger` says how long a batch waits for more items before it goes (0: at once).
        """
        self._send_batch = send
        self._abandoned = abandoned
        self._linger = linger
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        """`item`'s result, sent with whatever else is ready."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._sending is None:
            self._sending = asyncio.ensure_future(self._send())
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                result = await future
                if self._abandoned is not None:
                    await self._abandoned(result)
            raise

    async def _send(self) -> None:
        try:
            await asyncio.sleep(0)  # items submitted at the same moment join this batch
            while self._waiting:
                if (linger := self._linger()) > 0:
                    await asyncio.sleep(linger)
                batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
                await self._answer(batch)
        finally:
            self._sending = None

    async def _answer(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._send_batch([item for item, _ in batch])
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
        for (_, future), result in zip(batch, results, strict=True):
            future.set_result(result)


class ClaimBatcher:
    """A scheduler's claims and completions, in batches; each caller gets its own answer."""

    def __init__(
        self,
        storage: Storage,
        *,
        owner: str,
        clock: Clock,
        lease: dt.timedelta,
        dead_after: dt.timedelta,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        """Claims for `owner` (a scheduler), with its lease and its rule for dead owners.

        `busy` says whether posts are on their way: a recording then waits for them to join.
        """
        self.storage = storage
        self.owner = owner
        self.clock = clock
        self.lease = lease
        self.dead_after = dead_after
        self._claims: Batches[WantedPost, PostRecord | None] = Batches(
            self._claim_batch, self._give_back
        )
        self._completions: Batches[tuple[str, str, dt.date, str], bool] = Batches(
            self._complete_batch, linger=lambda: RECORD_LINGER if busy() else 0.0
        )

    async def claim(self, wanted: WantedPost) -> PostRecord | None:
        """Claim one post with whatever else is ready; its record if we own it now, else None.

        A caller cancelled while its batch is in the database (a stop's grace ran out) gives
        back what the batch got for it: nothing was attempted, so the next owner posts at once.
        """
        return await self._claims.submit(wanted)

    async def complete(self, key: PostKey, message_id: str) -> bool:
        """Record the post as posted (with others); False if we no longer held its claim."""
        return await self._completions.submit((*key, message_id))

    async def _take(self, batch: Sequence[WantedPost]) -> list[PostRecord]:
        """One claim statement's batch (`Storage.claim_posts`)."""
        return await self.storage.claim_posts(
            batch, owner=self.owner, now=self.clock(), lease=self.lease, dead_after=self.dead_after
        )

    async def _claim_batch(self, batch: list[WantedPost]) -> list[PostRecord | None]:
        by_key = {(r.platform, r.channel, r.local_date): r for r in await self._take(batch)}
        # The same post asked twice in a batch (a slot's job and the sweep): one gets it.
        return [by_key.pop((w.platform, w.channel, w.local_date), None) for w in batch]

    async def _give_back(self, record: PostRecord | None) -> None:
        """Release a claim nobody will post: not attempted, so the next owner posts at once."""
        if record is not None:
            await self.storage.release_post(
                record.platform,
                record.channel,
                record.local_date,
                owner=self.owner,
                now=self.clock(),
                attempted=False,
            )

    async def _complete_batch(self, batch: list[tuple[str, str, dt.date, str]]) -> list[bool]:
        done = await self.storage.complete_posts(batch, owner=self.owner, now=self.clock())
        return [item[:3] in done for item in batch]
