"""The scheduler tells the platform which workspace a daily post belongs to.

A Slack app installed in many workspaces posts with one token per workspace, so both the post
and the look for an earlier attempt (after a takeover) carry the subscription's workspace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from bot.storage import Storage
from tests.bot.daily.test_scheduler import berlin, make_scheduler, sub
from tests.fakes.recording_poster import RecordingPoster
from tests.helpers import Clock

DAY = dt.date(2026, 11, 28)


@pytest.fixture
async def storage(db_url):
    store = await Storage.open(db_url)
    yield store
    await store.close()


async def test_a_taken_over_post_is_looked_for_and_posted_in_its_workspace(storage):
    general = replace(sub("general"), workspace="T42")
    await storage.save_subscription(general)
    clock = Clock(berlin(2026, 11, 28, 9, 1))
    await storage.claim_post(  # an owner that never beat, its lease long gone
        "console",
        "general",
        DAY,
        1,
        owner="gone",
        now=clock.now - dt.timedelta(hours=1),
        lease=dt.timedelta(minutes=5),
    )
    poster = RecordingPoster()

    assert await make_scheduler(storage, poster, clock).deliver(general, DAY)

    assert poster.asked == [("find_post", "general", "T42"), ("post", "general", "T42")]
