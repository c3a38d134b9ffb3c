"""The console platform over real SQLite: commands, triggers, cooldowns, daily posts.

The `/maxim daily` rules themselves (admins only, config-set channels...) are tested in
tests/bot/daily/test_commands.py; here they go through the console end to end.
"""

import datetime as dt
import io
import random
import re

import pytest

from bot.cards import alt_text, render_card
from bot.chat import ChatService, build_trigger_engine
from bot.config import TriggersConfig
from bot.daily.commands import DailySubscriptions
from bot.platforms.console import Console, ConsolePoster, render_console
from maxims import load_corpus
from tests.helpers import Clock, run_python


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


async def chat(service, text, cards_folder=None):
    out = io.StringIO()
    folder = {} if cards_folder is None else {"cards_folder": cards_folder}
    console = Console(service, io.StringIO(text), out, channel="console", user="you", **folder)
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
        "Next: Sun 29 Nov 09:00 Europe/Berlin (in 24 h 0 min).",
        "maxim-bot: Daily post here at 09:00 Europe/Berlin. "
        "Next: Sun 29 Nov 09:00 Europe/Berlin (in 24 h 0 min).",
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


async def test_today_on_a_day_without_a_post_says_when_it_comes(service, clock):
    clock.now = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.UTC)  # a Saturday
    await chat(service, "/maxim daily 09:00 Europe/Berlin mon-fri\n")
    lines = await chat(service, "/maxim today\n")
    monday = load_corpus().for_day(dt.date(2026, 12, 7), "console:console", 0b0011111)
    assert lines == [
        f"maxim-bot: #{monday.number} {monday.text}",
        "   (the next daily post here: Mon 07 Dec 09:00 Europe/Berlin)",
    ]


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


# -- cards -------------------------------------------------------------------------------------


async def test_a_card_is_saved_as_a_png_and_its_path_and_alt_text_printed(service, tmp_path):
    lines = await chat(service, "/maxim card 34\n", tmp_path)
    maxim = load_corpus().get(34)
    path = tmp_path / "maxim-34.png"
    assert lines == [
        f"maxim-bot: Maxim 34 as a card: {path}",
        f"   alt text: {alt_text(maxim)}",
    ]
    assert path.read_bytes() == render_card(maxim)  # the light card, whole
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert len(service.cards) == 1  # drawn through the service's one cache


async def test_a_card_lands_in_the_current_folder_by_default(service, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    lines = await chat(service, "/maxim card #3\n")
    assert lines[0] == f"maxim-bot: Maxim 3 as a card: {tmp_path / 'maxim-3.png'}"
    assert (tmp_path / "maxim-3.png").is_file()


async def test_a_card_search_mentions_further_matches_and_no_platform_note(service, tmp_path):
    lines = await chat(service, "/maxim card search dropout layers\n", tmp_path)
    assert lines[0] == f"maxim-bot: Maxim 59 as a card: {tmp_path / 'maxim-59.png'}"
    assert lines[2:] == ["   (more matches: #16, #30, #6, #20, #54)"]
    today = await chat(service, "/maxim card today\n", tmp_path)
    assert today[2] == "   (today’s maxim)"


async def test_a_card_of_nothing_gets_the_text_forms_error_and_saves_nothing(service, tmp_path):
    tmp_path = tmp_path / "cards"
    tmp_path.mkdir()
    for form in ("71", "4.2", "list"):
        lines = await chat(service, f"/maxim card {form}\n", tmp_path)
        assert len(lines) == 1
        assert lines[0].startswith("maxim-bot: "), form
    assert (await chat(service, "/maxim card 71\n", tmp_path)) == (
        await chat(service, "/maxim 71\n", tmp_path)
    )
    assert list(tmp_path.iterdir()) == []


async def test_a_folder_that_cannot_be_written_gives_the_text_and_one_line(service, tmp_path):
    missing = tmp_path / "gone"
    lines = await chat(service, "/maxim card 34\n/maxim 1\n", missing)
    maxim = load_corpus().get(34)
    assert lines[:2] == [
        f"maxim-bot: #34 {maxim.text}",
        f"   (couldn’t save its card in {missing}: No such file or directory)",
    ]
    assert lines[2].startswith("maxim-bot: #1 ")  # and the console goes on


async def test_a_daily_post_in_card_style_saves_the_card_and_prints_its_path(service, tmp_path):
    out = io.StringIO()
    console = Console(
        service, io.StringIO(""), out, channel="general", user="you", cards_folder=tmp_path
    )
    poster = console.poster
    assert isinstance(poster, ConsolePoster)
    maxim = load_corpus().get(40)
    assert await poster.post("general", maxim, key="k1", style="card") == "console-1"
    assert await poster.post("general", maxim, key="k2") == "console-2"
    assert out.getvalue().splitlines() == [
        f"maxim-bot [#general] Maxim of the day, as a card: {tmp_path / 'maxim-40.png'}",
        f"   alt text: {alt_text(maxim)}",
        f"maxim-bot [#general] Maxim of the day: #40 {maxim.text}",
    ]
    assert (tmp_path / "maxim-40.png").read_bytes() == render_card(maxim)


def test_the_chat_service_and_the_console_load_pillow_only_with_the_first_card():
    """Idle memory and start-up do not pay for Pillow: the first card drawn loads it."""
    code = (
        "import asyncio, io, sys\n"
        "from bot.chat import ChatService\n"
        "from bot.platforms.console import Console\n"
        "from maxims import load_corpus\n"
        "print('PIL' in sys.modules)\n"
        "from bot.cards import CardCache\n"
        "asyncio.run(CardCache().png(load_corpus().get(1)))\n"
        "print('PIL' in sys.modules)\n"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False\nTrue\n"
