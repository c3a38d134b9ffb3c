"""The console platform over real SQLite: commands, triggers, cooldowns, daily subscriptions."""

import datetime as dt
import io
import random

import pytest

from bot.chat import ChatService, build_trigger_engine
from bot.config import TriggersConfig
from bot.daily.commands import ADMINS_ONLY, DailySubscriptions
from bot.platforms.console import Console, render_console
from maxims import load_corpus


class Clock:
    def __init__(self, now):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock(dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC))


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


async def chat(service, text, *, admin=True):
    out = io.StringIO()
    console = Console(service, io.StringIO(text), out, channel="console", user="you")
    if not admin:

        async def nobody():
            return False

        console._is_admin = nobody
    await console.run()
    return out.getvalue().splitlines()


async def test_slash_maxim_prints_that_maxim(service):
    lines = await chat(service, "/maxim 34\n")
    assert lines == [f"maxim-bot: #34 {load_corpus().get(34).text}"]


async def test_nan_gets_one_answer_per_cooldown(service, clock):
    lines = await chat(service, "loss is NaN\nstill NaN\nbanana\n")
    assert len(lines) == 1
    assert int(lines[0].split("#")[1].split()[0]) in {34, 40, 55}
    clock.now += dt.timedelta(minutes=11)
    assert len(await chat(service, "NaN again\n")) == 1


async def test_unknown_commands_and_blank_lines(service):
    lines = await chat(service, "\n   \n/frobnicate <!channel>\n")
    assert lines == ["maxim-bot: I only know /maxim (you typed /frobnicate); try /maxim help."]


async def test_daily_subscription_round_trip(service, storage):
    lines = await chat(
        service, "/maxim daily\n/maxim daily 09:00 Europe/Berlin\n/maxim daily\n/maxim daily off\n"
    )
    assert "no daily maxim" in lines[0]
    assert "daily at 09:00 Europe/Berlin" in lines[1]
    assert "Next: Sat 28 Nov 09:00 CET (in 0 h" not in lines[1]  # 08:00 UTC is 09:00 CET: passed
    assert "Next: Sun 29 Nov 09:00 CET" in lines[1]
    assert "Daily maxim here at 09:00 Europe/Berlin" in lines[2]
    assert "Stopped" in lines[3]
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


async def test_only_admins_change_the_daily_post(service, storage):
    lines = await chat(service, "/maxim daily 09:00 UTC\n/maxim daily\n", admin=False)
    assert lines[0] == f"maxim-bot: {ADMINS_ONLY.replace('`', '')}"
    assert "no daily maxim" in lines[1]  # showing is for everyone
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
    assert len(lines) == 2
    assert lines[0].startswith("maxim-bot: Something went wrong on my side (ref ")
    assert "secret internals" not in "\n".join(lines)
    assert "secret internals" in caplog.text


def test_search_results_mention_further_matches():
    corpus = load_corpus()
    from maxims import MaximReply

    text = render_console(MaximReply((corpus.get(4), corpus.get(17)), "search"))
    assert text.splitlines()[1].strip() == "(more matches: #17)"


async def test_daily_off_leaves_a_config_entry_alone(service, storage, clock):
    from bot.config import DailyConfig
    from bot.daily.commands import FROM_CONFIG, config_subscriptions

    entry = DailyConfig(platform="console", channel="console", time="09:00", timezone="UTC")
    await storage.sync_config_subscriptions(config_subscriptions([entry], clock.now))
    lines = await chat(service, "/maxim daily off\n")
    assert lines == [f"maxim-bot: {FROM_CONFIG}"]
    assert [s.source for s in await storage.list_subscriptions()] == ["config"]
