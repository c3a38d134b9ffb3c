"""`ChatService`, what every platform shares, over real SQLite storage.

The platforms' own tests go through the SDKs; these pin the shared rules once: one answer per
event id, one NaN answer per cooldown, the acknowledgement race, Shuffle and stale buttons.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random

import pytest
from cachetools import Cache

import bot.chat
from bot.bootstrap import build_service
from bot.chat import LAST_ANSWER_SECONDS, REMEMBERED_CHANNELS, ChatService, Origin, in_time
from bot.config import Settings, TriggersConfig
from bot.preview import Preview, answer_notes
from maxims import MaximReply, TextReply, load_corpus
from tests.helpers import Clock

CORPUS = load_corpus()
HERE = Origin("console", "general", "ada")
NAN_NUMBERS = {34, 40, 55}


async def admin() -> bool:
    return True


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def service(storage, clock) -> ChatService:
    settings = Settings(triggers=TriggersConfig(cooldown_seconds=600))
    return build_service(settings, storage, clock=clock, rng=random.Random(7))


async def test_in_time_says_whether_the_work_finished_before_the_deadline():
    async def quick() -> int:
        return 42

    release = asyncio.Event()

    async def slow() -> int:
        await release.wait()
        return 7

    done_future, done = await in_time(quick(), 1.0)
    late_future, late_done = await in_time(slow(), 0.01)
    assert (done, done_future.result()) == (True, 42)
    assert late_done is False and not late_future.done()  # it keeps running...
    release.set()
    assert await late_future == 7  # ...and its answer comes later


async def test_a_command_answers_with_the_core_reply(service):
    reply = await service.command(HERE, "34", admin)
    assert isinstance(reply, MaximReply)
    assert [m.number for m in reply.maxims] == [34]


async def test_an_event_is_answered_once_however_often_it_is_delivered(service):
    first = await service.command(HERE, "34", admin, event_id="Ev1")
    again = await service.command(HERE, "34", admin, event_id="Ev1")
    other = await service.command(HERE, "35", admin, event_id="Ev2")
    assert isinstance(first, MaximReply) and first.maxims[0].number == 34
    assert again is None
    assert isinstance(other, MaximReply) and other.maxims[0].number == 35


async def test_a_request_key_is_new_once(service):
    assert await service.first_request("slack-signature", "1700000000:v0=ab") is True
    assert await service.first_request("slack-signature", "1700000000:v0=ab") is False


async def test_today_follows_the_channels_daily_post_zone(service, clock):
    clock.now = dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC)  # the 29th in Tokyo
    assert await service.today(HERE) == dt.date(2026, 11, 28)
    reply = await service.command(HERE, "daily 09:00 Asia/Tokyo", admin)
    assert isinstance(reply, TextReply) and reply.status != "error"
    assert await service.today(HERE) == dt.date(2026, 11, 29)


@pytest.mark.parametrize("text", ["today", "card today"])
async def test_today_on_a_day_without_a_post_is_the_next_posts_maxim(service, clock, text):
    clock.now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)  # a Saturday
    await service.command(HERE, "daily 09:00 Europe/Berlin mon-fri", admin)
    monday = CORPUS.for_day(dt.date(2026, 12, 7), HERE.channel_key, 0b0011111)
    saturday_every_day = CORPUS.for_day(dt.date(2026, 12, 5), HERE.channel_key)
    assert monday != saturday_every_day  # else this test could not tell them apart
    reply = await service.command(HERE, text, admin)
    assert isinstance(reply, MaximReply) and reply.maxims == (monday,)
    # ... and says when it comes, in the channel's zone, named as given
    assert reply.note == "the next daily post here: Mon 07 Dec 09:00 Europe/Berlin"
    assert answer_notes(reply) == [reply.note]


async def test_today_on_a_posting_day_has_no_next_post_note(service, clock):
    clock.now = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)  # a Monday, after the post
    await service.command(HERE, "daily 09:00 Europe/Berlin mon-fri", admin)
    reply = await service.command(HERE, "today", admin)
    assert isinstance(reply, MaximReply) and reply.note == ""
    assert answer_notes(reply) == ["today’s maxim"]


def test_shuffle_moves_to_the_next_search_result_and_stale_buttons_are_none(service):
    words = ("overfitting",)
    results = CORPUS.search(words)
    encoded = Preview(results[0], "search", 0, words).encode()
    following = service.shuffle(encoded)
    assert following == Preview(results[1], "search", 1, words)
    assert following is not None and following.total == len(results)
    assert service.preview(encoded) == Preview(results[0], "search", 0, words)
    assert service.shuffle("number|99|0|") is None
    assert service.preview("garbage") is None


def test_suggestions_come_from_the_core(service):
    values = [value for _, value in service.suggest("nan")]
    assert set(values) == {str(n) for n in NAN_NUMBERS}


async def test_nan_is_answered_once_per_cooldown_per_channel(service, clock):
    first = await service.message(HERE, "my loss is NaN")
    second = await service.message(HERE, "still NaN")
    elsewhere = await service.message(Origin("console", "random", "ada"), "NaN here too")
    clock.advance(seconds=601)
    later = await service.message(HERE, "NaN again")
    assert first is not None and first.number in NAN_NUMBERS
    assert second is None
    assert elsewhere is not None
    assert later is not None and later.number in NAN_NUMBERS
    assert later.number != first.number  # the channel's last answer is avoided


async def test_a_redelivered_message_is_answered_once(service, clock):
    first = await service.message(HERE, "NaN", event_id="Ev9")
    clock.advance(seconds=601)  # even after the cooldown
    again = await service.message(HERE, "NaN", event_id="Ev9")
    assert first is not None and again is None


async def test_ordinary_messages_cost_no_storage_call(service):
    calls = []
    real = service.storage.take_cooldown

    async def counting(*args, **kwargs):
        calls.append(args)
        return await real(*args, **kwargs)

    service.storage.take_cooldown = counting  # our own storage, not an SDK object
    assert await service.message(HERE, "banana bread for the team") is None
    assert calls == []
    assert await service.message(HERE, "loss=nan") is not None
    assert len(calls) == 1


async def test_cooldowns_and_events_are_kept_per_workspace(service):
    # One Slack app, two workspaces (OAuth): a channel id or event id of one is not the other's.
    t1, t2 = Origin("slack", "C1", "U1", "T1"), Origin("slack", "C1", "U1", "T2")

    assert await service.message(t1, "loss is NaN", event_id="Ev1") is not None
    assert await service.message(t2, "loss is NaN", event_id="Ev1") is not None
    assert await service.message(t1, "NaN again", event_id="Ev2") is None  # T1's cooldown
    assert await service.message(t2, "loss is NaN", event_id="Ev1") is None  # T2's Ev1, again


def stored(memory: Cache | dict) -> int:
    """Entries a map really holds, expired or not (its `len` would drop the expired first)."""
    return Cache.__len__(memory) if isinstance(memory, Cache) else len(memory)


async def test_the_channel_maps_stay_bounded_under_200000_channels(service):
    async def granted(*args, **kwargs) -> bool:
        return True

    # Our own storage, not an SDK object: 200,000 cooldowns granted without 200,000 writes.
    service.storage.take_cooldown = granted
    for n in range(200_000):
        assert await service.message(Origin("slack", f"C{n}", "ada"), "loss is NaN") is not None
    assert stored(service._quiet_until) <= REMEMBERED_CHANNELS < 200_000
    assert stored(service._last_answer) <= REMEMBERED_CHANNELS


async def test_an_expired_entry_is_forgotten(service, clock):
    elsewhere = Origin("console", "random", "ada")
    assert await service.message(HERE, "loss is NaN") is not None
    clock.advance(seconds=601)  # past the cooldown: the gate's entry has expired
    assert await service.message(elsewhere, "loss is NaN") is not None
    assert stored(service._quiet_until) == 1  # HERE's went on that write
    assert stored(service._last_answer) == 2  # the last answers last a day
    clock.advance(seconds=LAST_ANSWER_SECONDS)
    assert await service.message(elsewhere, "loss is NaN") is not None
    assert stored(service._last_answer) == 1


async def test_a_live_cooldown_is_honoured_after_the_gate_forgot_the_channel(
    storage, clock, monkeypatch
):
    monkeypatch.setattr(bot.chat, "REMEMBERED_CHANNELS", 3)
    settings = Settings(triggers=TriggersConfig(cooldown_seconds=600))
    service = build_service(settings, storage, clock=clock, rng=random.Random(7))
    asked = []
    real = storage.take_cooldown

    async def counting(*args, **kwargs):
        asked.append(args)
        return await real(*args, **kwargs)

    storage.take_cooldown = counting  # our own storage, not an SDK object
    assert await service.message(HERE, "loss is NaN") is not None
    clock.advance(seconds=599)
    assert await service.message(HERE, "NaN again") is None
    assert len(asked) == 1  # the gate kept it from storage
    for n in range(5):
        assert await service.message(Origin("console", f"c{n}", "ada"), "NaN") is not None
    assert ("console", "general", "nan") not in service._quiet_until  # forgotten, so...
    assert await service.message(HERE, "NaN again") is None  # ...storage says no
    clock.advance(seconds=2)
    assert await service.message(HERE, "NaN once more") is not None
