"""The console platform over real SQLite: commands, triggers, cooldowns, daily posts.

The `/maxim daily` rules themselves (admins only, config-set channels...) are tested in
tests/bot/daily/test_commands.py; here they go through the console end to end.
"""

import datetime as dt
import io
import random
import re

import pytest

from bot.chat import ChatService, build_trigger_engine
from bot.config import TriggersConfig
from bot.daily.commands import DailySubscriptions
from bot.platforms.console import Console, render_console
from maxims import load_corpus
from tests.helpers import Clock


@pytest.fixture
def clock():
    return Clock()  # Saturday 28 Nov 2026, 08:00 UTC: 09:00 in Berlin


@pytest.fixture
def service(storage, clock):
    corpus = load_corpus()
    reloads = []

    async def on_change():
        reloads.append(1)

    svc = ChatService(
        corpus=corpus,
        engine=build_trigger_engine(TriggersConfig(cooldown_seconds=600), corpus),
        storage=storage,
        clock=clock,
        rng=random.Random(5),
        daily=DailySubscriptions(storage, on_change, clock=clock),
    )
    svc.reloads = reloads
    return svc


async def chat(service, text):
    out = io.StringIO()
    console = Console(service, io.StringIO(text), out, channel="console", user="you")
    await console.run()
    return out.getvalue().splitlines()


async def test_slash_maxim_prints_that_maxim(service):
    lines = await chat(service, "/maxim 34\n")
    assert lines == [f"maxim-bot: #34 {load_corpus().get(34).text}"]


async def test_nan_gets_one_answer_per_cooldown(service, clock):
    lines = await chat(service, "loss is NaN\nstill NaN\nbanana\n")
    assert len(lines) == 1
    assert int(lines[0].split("#")[1].split()[0]) in {34, 40, 55}
    clock.advance(minutes=11)
    assert len(await chat(service, "NaN again\n")) == 1


async def test_unknown_commands_and_blank_lines(service):
    lines = await chat(service, "\n   \n/frobnicate <!channel>\n")
    assert lines == ["maxim-bot: I only know /maxim (you typed /frobnicate); try /maxim help."]


async def test_daily_subscription_round_trip(service, storage):
    lines = await chat(
        service, "/maxim daily\n/maxim daily 09:00 Europe/Berlin\n/maxim daily\n/maxim daily off\n"
    )
    assert lines == [
        "maxim-bot: This channel has no daily post. An admin can start one with "
        "/maxim daily 09:00 Europe/Berlin.",
        # 08:00 UTC is 09:00 CET: today's 09:00 has come, so the next one is tomorrow's
        "maxim-bot: Done: a maxim of the day will be posted here daily at 09:00 Europe/Berlin. "
        "Next: Sun 29 Nov 09:00 CET (in 24 h 0 min).",
        "maxim-bot: Daily post here at 09:00 Europe/Berlin. "
        "Next: Sun 29 Nov 09:00 CET (in 24 h 0 min).",
        "maxim-bot: Stopped: no more daily posts in this channel.",
    ]
    assert await storage.list_subscriptions() == []
    assert len(service.reloads) == 2


@pytest.mark.parametrize(
    ("line", "fragment"),
    [
        ("/maxim daily 24:00", "HH:MM"),
        ("/maxim daily 9am", "HH:MM"),
        ("/maxim daily 25:61", "HH:MM"),
        ("/maxim daily 09:00 Mars/Olympus", "IANA"),
    ],
)
async def test_bad_daily_settings_say_the_accepted_form(service, storage, line, fragment):
    lines = await chat(service, line + "\n")
    assert fragment in lines[0]
    assert await storage.list_subscriptions() == []


async def test_today_follows_the_channels_zone(service, clock):
    clock.now = dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC)  # already the 29th in Tokyo
    await chat(service, "/maxim daily 09:00 Asia/Tokyo\n")
    lines = await chat(service, "/maxim today\n")
    expected = load_corpus().for_day(dt.date(2026, 11, 29), "console:console")
    assert lines == [f"maxim-bot: #{expected.number} {expected.text}", "   (today’s maxim)"]


async def test_a_failing_handler_apologises_with_a_reference(service, caplog):
    async def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    service.command = broken
    lines = await chat(service, "/maxim 1\n/maxim 2\n")
    apology = r"maxim-bot: Something went wrong on my side \(ref (\w+)\)\. Please try again.*"
    refs = [re.fullmatch(apology, line).group(1) for line in lines]
    assert len(set(refs)) == 2  # one reference per failure, each in the log
    assert all(f"(ref {ref})" in caplog.text for ref in refs)
    assert "secret internals" in caplog.text  # the details stay in the log


def test_search_results_mention_further_matches():
    corpus = load_corpus()
    from maxims import MaximReply

    text = render_console(MaximReply((corpus.get(4), corpus.get(17)), "search"))
    assert text.splitlines()[1].strip() == "(more matches: #17)"
