"""`Storage`: every query the bot makes, each one atomic across processes.

This module holds the facade and the small query families (subscriptions, events, cooldowns,
key-value); daily-post claims live in `bot.storage.posts`, heartbeats and pruning in
`bot.storage.processes`, stats counts in `bot.storage.stats`, and `Storage` inherits them,
so callers see one object.

The guarantees ("one post per channel per day", "each event once", "one NaN answer per
cooldown") hold with several bot processes on one database only because each is a single
statement (``INSERT ... ON CONFLICT`` or a conditional ``UPDATE ... WHERE ... RETURNING``),
never read-then-write logic in Python. Rows become `bot.storage.records` here and nowhere else.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Collection, Sequence
from types import TracebackType
from typing import Final, Self

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.backends import normalise_url
from bot.storage.due import DueQueries
from bot.storage.engine import open_engine
from bot.storage.posts import PostQueries
from bot.storage.processes import EVENT_RETENTION, ProcessQueries
from bot.storage.records import Subscription
from bot.storage.stats import StatsQueries
from bot.storage.tables import (
    as_utc,
    cooldowns,
    delivered_events,
    insert_into,
    meta,
    subscription_from_row,
    subscription_values,
    subscriptions,
)

log = logging.getLogger(__name__)

EVENT_PRUNE_EVERY: Final = datetime.timedelta(hours=1)


class Storage(PostQueries, DueQueries, ProcessQueries, StatsQueries):
    """The bot's database; one instance per process, safe to share between its tasks."""

    def __init__(self, engine: AsyncEngine) -> None:
        """Wrap an engine whose schema is already at head; use `Storage.open` instead."""
        super().__init__(engine)
        self._next_event_prune: datetime.datetime | None = None

    @classmethod
    async def open(cls, url: str, **timeouts: float) -> Storage:
        """Connect to `url` and upgrade its schema to head.

        Safe when several processes open the same database at once. For SQLite the parent
        directory of the file is created if missing. ``sqlite://`` and ``postgresql://`` URLs
        get the async drivers (aiosqlite, asyncpg) when none is named. `timeouts`
        (``connect_timeout``, ``query_timeout``) and the `StorageOpenError` it raises: see
        `bot.storage.engine.open_engine`.
        """
        parsed = normalise_url(url)
        engine = await open_engine(parsed, **timeouts)
        log.info("storage opened: %s", parsed.render_as_string(hide_password=True))
        return cls(engine)

    @property
    def engine(self) -> AsyncEngine:
        """The engine, for stores that share this database (Slack's OAuth installations)."""
        return self._engine

    async def close(self) -> None:
        """Close every pooled connection."""
        await self._engine.dispose()

    async def ping(self) -> None:
        """One trivial query (``SELECT 1``): the readiness probe asks whether storage answers."""
        async with self._engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def __aenter__(self) -> Self:
        """Use as ``async with await Storage.open(url) as storage:``."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on leaving the block."""
        await self.close()

    # -- subscriptions ---------------------------------------------------------------------

    async def save_subscription(self, sub: Subscription) -> None:
        """Insert or replace the subscription of (sub.platform, sub.channel), all fields."""
        values = subscription_values(sub)
        stmt = insert_into(self._dialect, subscriptions).values(values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[subscriptions.c.platform, subscriptions.c.channel],
            set_={k: stmt.excluded[k] for k in values if k not in ("platform", "channel")},
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)
            await self._note_subscriptions_changed(conn)

    async def delete_subscription(self, platform: str, channel: str) -> bool:
        """Remove the channel's subscription (whatever its source); True if there was one."""
        stmt = (
            sa.delete(subscriptions)
            .where(subscriptions.c.platform == platform, subscriptions.c.channel == channel)
            .returning(subscriptions.c.channel)
        )
        async with self._engine.begin() as conn:
            deleted = (await conn.execute(stmt)).first() is not None
            if deleted:
                await self._note_subscriptions_changed(conn)
            return deleted

    async def delete_workspace_subscriptions(self, platform: str, workspace: str) -> int:
        """Remove every subscription of a workspace (it uninstalled the app); how many."""
        stmt = (
            sa.delete(subscriptions)
            .where(subscriptions.c.platform == platform, subscriptions.c.workspace == workspace)
            .returning(subscriptions.c.channel)
        )
        async with self._engine.begin() as conn:
            deleted = len((await conn.execute(stmt)).all())
            if deleted:
                await self._note_subscriptions_changed(conn)
            return deleted

    async def delete_enterprise_subscriptions(
        self,
        platform: str,
        enterprise: str,
        *,
        keep: Collection[str] = (),
        workspaces: Collection[str] | None = None,
    ) -> int:
        """Remove the subscriptions set in Grid org `enterprise`, but in workspaces `keep`.

        An org-wide installation went: its workspaces' daily posts go, except where a
        workspace has an installation of its own (`keep`), which posts them. With
        `workspaces`, only those were taken out of it (``team_access_revoked``): only their
        posts go, and none when it is empty. How many.
        """
        c = subscriptions.c
        stmt = sa.delete(subscriptions).where(c.platform == platform, c.enterprise == enterprise)
        if keep:
            stmt = stmt.where(c.workspace.not_in(sorted(keep)))
        if workspaces is not None:
            stmt = stmt.where(c.workspace.in_(sorted(workspaces)))
        async with self._engine.begin() as conn:
            deleted = len((await conn.execute(stmt.returning(c.channel))).all())
            if deleted:  # the scheduler drops the jobs left empty (other processes too)
                await self._note_subscriptions_changed(conn)
            return deleted

    async def get_subscription(self, platform: str, channel: str) -> Subscription | None:
        """Return the channel's subscription, or None."""
        stmt = sa.select(subscriptions).where(
            subscriptions.c.platform == platform, subscriptions.c.channel == channel
        )
        async with self._reading() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else subscription_from_row(row)

    async def list_subscriptions(
        self, platform: str | None = None, *, workspace: str | None = None
    ) -> list[Subscription]:
        """Return all subscriptions (of one platform), ordered by platform then channel.

        With `workspace` (and `platform`), only that workspace's, and those that name none
        (``[[daily]]`` entries without one, posts set before workspaces were recorded), read
        through the index on (platform, workspace): never every workspace's.
        """
        c = subscriptions.c
        stmt = sa.select(subscriptions).order_by(c.platform, c.channel)
        if platform is not None:
            stmt = stmt.where(c.platform == platform)
        if workspace is not None:
            stmt = stmt.where(c.workspace.in_(sorted({workspace, ""})))
        async with self._reading() as conn:
            return [subscription_from_row(row) for row in await conn.execute(stmt)]

    async def mark_subscription_failing(
        self, platform: str, channel: str, reason: str | None
    ) -> None:
        """Record why posting to the channel keeps failing; None marks it healthy again."""
        stmt = (
            sa.update(subscriptions)
            .where(subscriptions.c.platform == platform, subscriptions.c.channel == channel)
            .values(failing=reason)
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def sync_config_subscriptions(self, subs: Sequence[Subscription]) -> None:
        """Make the config-sourced subscriptions equal to `subs` (the ``[[daily]]`` entries).

        Every element is stored with ``source="config"`` whatever its own `source` says.
        A channel already subscribed in chat keeps its command row: config never overrides
        chat. A config row whose entry is unchanged (workspace, time, timezone, set_by, style,
        days) is left alone, so its `set_at` and `failing` survive restarts; a changed one is
        replaced whole. Config rows of channels no longer in `subs` are deleted. Safe to run from
        several processes at once. Raises ValueError if two entries name the same channel.
        """
        wanted: dict[tuple[str, str], Subscription] = {}
        for sub in subs:
            key = (sub.platform, sub.channel)
            if key in wanted:
                raise ValueError(f"two config subscriptions for {sub.platform} channel {key[1]}")
            wanted[key] = sub
        c = subscriptions.c
        async with self._engine.begin() as conn:
            for sub in wanted.values():
                values = subscription_values(sub) | {"source": "config"}
                insert = insert_into(self._dialect, subscriptions).values(values)
                await conn.execute(insert.on_conflict_do_nothing())
                changed = sa.or_(
                    c.workspace != sub.workspace,
                    c.post_time != sub.time,
                    c.timezone != sub.timezone,
                    c.set_by != sub.set_by,
                    c.style != sub.style,
                    c.days != sub.days,
                    c.thread != sub.thread,
                    c.enterprise != sub.enterprise,
                )
                await conn.execute(
                    sa.update(subscriptions)
                    .where(
                        c.platform == sub.platform,
                        c.channel == sub.channel,
                        c.source == "config",
                        changed,
                    )
                    .values(values)
                )
            existing = await conn.execute(
                sa.select(c.platform, c.channel).where(c.source == "config")
            )
            stale = [(p, ch) for p, ch in existing if (p, ch) not in wanted]
            for platform, channel in stale:
                await conn.execute(
                    sa.delete(subscriptions).where(
                        c.platform == platform, c.channel == channel, c.source == "config"
                    )
                )
            await self._note_subscriptions_changed(conn)
        log.info("config subscriptions synced: %d wanted, %d removed", len(wanted), len(stale))

    # -- event de-duplication --------------------------------------------------------------

    async def first_delivery(self, platform: str, event_id: str, *, now: datetime.datetime) -> bool:
        """Return True exactly once per (platform, event_id), across processes.

        Ids are remembered for `EVENT_RETENTION`; older ones are pruned at most once per
        `EVENT_PRUNE_EVERY` per instance.
        """
        now = as_utc(now)
        stmt = (
            insert_into(self._dialect, delivered_events)
            .values(platform=platform, event_id=event_id, received_at=now)
            .on_conflict_do_nothing()
            .returning(delivered_events.c.event_id)
        )
        async with self._engine.begin() as conn:
            first = (await conn.execute(stmt)).first() is not None
            if self._next_event_prune is None or now >= self._next_event_prune:
                self._next_event_prune = now + EVENT_PRUNE_EVERY
                await conn.execute(
                    sa.delete(delivered_events).where(
                        delivered_events.c.received_at < now - EVENT_RETENTION
                    )
                )
        return first

    # -- cooldowns -------------------------------------------------------------------------

    async def take_cooldown(
        self, platform: str, channel: str, rule: str, *, now: datetime.datetime, seconds: float
    ) -> bool:
        """Return True, recording `now`, if `rule` has not answered in `channel` within `seconds`.

        Atomic across processes: one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` statement.
        """
        now = as_utc(now)
        stmt = insert_into(self._dialect, cooldowns).values(
            platform=platform, channel=channel, rule=rule, last_at=now
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[cooldowns.c.platform, cooldowns.c.channel, cooldowns.c.rule],
            set_={"last_at": stmt.excluded.last_at},
            where=cooldowns.c.last_at <= now - datetime.timedelta(seconds=seconds),
        ).returning(cooldowns.c.last_at)
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).first() is not None

    # -- key-value -------------------------------------------------------------------------

    async def get_meta(self, key: str) -> str | None:
        """Return the value stored under `key`, or None."""
        async with self._reading() as conn:
            value = await conn.scalar(sa.select(meta.c.value).where(meta.c.key == key))
        return None if value is None else str(value)

    async def set_meta(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing any previous value."""
        stmt = insert_into(self._dialect, meta).values(key=key, value=value)
        stmt = stmt.on_conflict_do_update(
            index_elements=[meta.c.key], set_={"value": stmt.excluded.value}
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)
