"""`/maxim stats` end to end through the console, over real SQLite and PostgreSQL.

Counting runs beside the answers (`bot.stats`); the tests wait for it with `drain`, never a
sleep. Slack and Discord go through their emulators in tests/bot/platforms/*/test_stats.py.
"""

from __future__ import annotations

import io
import logging
import random
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa

from bot.chat import ChatService, Origin, build_trigger_engine
from bot.config import TriggersConfig
from bot.platforms.console import Console
from bot.stats import OFF, StatsCounter
from bot.storage import Storage
from bot.storage.tables import stats_counts
from maxims import load_corpus
from tests.helpers import Clock

CORPUS = load_corpus()


def make_service(storage: Storage, clock: Clock, *, enabled: bool = True) -> ChatService:
    return ChatService(
        corpus=CORPUS,
        engine=build_trigger_engine(TriggersConfig(cooldown_seconds=600), CORPUS),
        storage=storage,
        clock=clock,
        rng=random.Random(5),
        stats=StatsCounter(storage, enabled=enabled, clock=clock, flush_seconds=0),
    )


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Storage]:
    s = await Storage.open(db_url)
    yield s
    await s.close()


async def chat(service: ChatService, text: str, channel: str = "console") -> list[str]:
    out = io.StringIO()
    await Console(service, io.StringIO(text), out, channel=channel, user="you").run()
    assert service.stats is not None
    assert await service.stats.background.drain(30)  # the counts beside the answers are in
    return out.getvalue().splitlines()


async def rows(storage: Storage) -> list[tuple[object, ...]]:
    c = stats_counts.c
    async with storage.engine.connect() as conn:
        result = await conn.execute(
            sa.select(c.platform, c.workspace, c.kind, c.maxim, c.n).order_by(c.kind, c.maxim)
        )
        return [tuple(row) for row in result]


async def test_stats_count_what_the_console_served(db: Storage) -> None:
    service = make_service(db, Clock())
    await chat(service, "/maxim 34\n/maxim #34\n/maxim 7\nmy loss is NaN\n/maxim 99\n")
    lines = await chat(service, "/maxim stats\n")
    text = "\n".join(lines)
    assert "maxims asked for: 3 · 3" in text
    assert "NaNs answered: 1 · 1" in text
    assert "maxims shared: 0 · 0" in text
    assert f"34. {CORPUS.get(34).text.splitlines()[0][:20]}" in text
    assert text.index("34.") < text.index("7.")  # most asked first
    assert "(2×)" in text
    # another console channel is another workspace: nothing counted there yet
    assert "maxims asked for: 0 · 0" in "\n".join(await chat(service, "/maxim stats\n", "other"))


async def test_counts_hold_no_person_and_no_message(db: Storage) -> None:
    service = make_service(db, Clock())
    await chat(service, "/maxim 34\nsecret words NaN\n")
    kept = await rows(db)
    assert [r[2] for r in kept] == ["asked", "nan"]
    assert all("you" not in map(str, r) and "secret" not in " ".join(map(str, r)) for r in kept)


async def test_a_share_is_counted_for_its_workspace(db: Storage) -> None:
    service = make_service(db, Clock())
    service.shared(Origin("slack", "C1", "U1", "T1"), CORPUS.get(12))
    assert service.stats is not None
    assert await service.stats.background.drain(30)
    assert await rows(db) == [("slack", "T1", "shared", 12, 1)]


async def test_stats_disabled_counts_nothing_deletes_nothing_and_says_so(db: Storage) -> None:
    clock = Clock()
    await db.count("console", "console", clock().date(), "asked", 5)  # counted while on
    service = make_service(db, clock, enabled=False)
    lines = await chat(service, "/maxim 34\nloss is NaN\n/maxim stats\n")
    assert lines[0].startswith("maxim-bot: #34 ")
    assert lines[-1] == "maxim-bot: " + OFF.replace("`", "")
    assert await rows(db) == [("console", "console", "asked", 5, 1)]


async def test_without_stats_the_command_says_not_available(db: Storage) -> None:
    service = make_service(db, Clock())
    service.stats = None
    reply = await service.command(Origin("console", "c", "u"), "stats", _no_admin)
    assert reply.text == "Stats are not available here."  # type: ignore[attr-defined]


async def _no_admin() -> bool:
    return False


@pytest.mark.postgres
@pytest.mark.timeout(120)
async def test_an_outage_skips_the_count_and_never_the_answer(
    stoppable_postgres, caplog: pytest.LogCaptureFixture
) -> None:
    storage = await Storage.open(stoppable_postgres.url("maxim"), query_timeout=2.0)
    try:
        service = make_service(storage, Clock())
        stoppable_postgres.stop()
        with caplog.at_level(logging.WARNING):
            lines = await chat(service, "/maxim 34\n")
        assert lines == [f"maxim-bot: #34 {CORPUS.get(34).text}"]  # no apology in chat
        assert "1 stats count(s) not saved: the database is unreachable" in caplog.text
        assert "(ref " not in caplog.text  # an expected outage, not a failure to report
        stoppable_postgres.start()
        await chat(service, "/maxim 34\n")
        assert (await rows(storage))[0][-1] == 1  # the count during the outage was skipped
    finally:
        await storage.close()


async def test_a_daily_post_is_counted_once_when_it_goes_out(db: Storage) -> None:
    import datetime as dt

    from bot.config import ScheduleConfig
    from bot.daily.scheduler import DailyScheduler
    from tests.fakes.recording_poster import RecordingPoster
    from tests.helpers import subscription

    at = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)  # 09:00 in Berlin
    await db.save_subscription(
        subscription(
            "general",
            platform="console",
            workspace="T9",
            time=dt.time(9),
            timezone="Europe/Berlin",
            set_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        )
    )
    clock = Clock(at)
    stats = StatsCounter(db, enabled=True, clock=clock, flush_seconds=0)
    poster = RecordingPoster()
    scheduler = DailyScheduler(
        storage=db,
        posters={poster.platform: poster},
        corpus=CORPUS,
        config=ScheduleConfig(),
        clock=clock,
        stats=stats,
    )
    await scheduler.sweep()
    await scheduler.sweep()  # nothing more goes out, so nothing more is counted
    assert await stats.background.drain(30)
    [(_, number, _)] = poster.sent
    assert await rows(db) == [("console", "T9", "posted", number, 1)]


async def test_counts_of_one_moment_are_written_together_and_add_up(db: Storage) -> None:
    stats = StatsCounter(db, enabled=True, clock=Clock(), flush_seconds=0)
    for _ in range(50):
        stats.count("slack", "T1", "asked", 7)
    stats.count("slack", "T1", "nan", 34)
    assert stats.background.pending == 1  # one write for all of them
    assert await stats.background.drain(30)
    stats.count("slack", "T1", "asked", 7)  # a later one adds to the stored counter
    assert await stats.background.drain(30)
    assert await rows(db) == [("slack", "T1", "asked", 7, 51), ("slack", "T1", "nan", 34, 1)]
