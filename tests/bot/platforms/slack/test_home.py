"""The App Home end to end: the Home tab and direct messages, through the real slack-bolt app.

Signed requests go through `app.async_dispatch`; the bot's Web API calls reach the loopback
emulator, which keeps the Home view it was last given for each person (`fake.home_views`).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from dataclasses import replace
from typing import Any

import pytest

from bot.bootstrap import build_service
from bot.chat import Origin
from bot.config import Settings, TriggersConfig
from bot.platforms.slack.admins import SlackAdmins
from bot.platforms.slack.home import direct_command
from bot.platforms.slack.render import ACTION_HOME_SHUFFLE, render_home
from bot.platforms.slack.users import SlackUsers
from bot.preview import Preview
from maxims import TextReply, load_corpus, render_help
from maxims.weekdays import parse_days
from tests.bot.platforms.slack.helpers import CORPUS, NOW, Bot, make_service, settings_for
from tests.fakes.slack.blockkit import view_problem
from tests.fakes.slack.payloads import (
    app_home_opened_event,
    direct_message_event,
    event_body,
    home_actions_body,
    message_event,
)
from tests.helpers import subscription as a_subscription


@pytest.fixture
def make_bot(fake, storage):
    def build(service=None) -> Bot:
        return Bot(fake, settings_for(fake), service or make_service(storage))

    return build


async def open_home(bot: Bot, user: str = "U1", tab: str = "home") -> dict[str, Any] | None:
    response = await bot.dispatch(event_body(app_home_opened_event(user, tab), event_id=f"Ev{tab}"))
    assert response.status == 200
    await bot.settle()
    return bot.fake.home_views.get(user)


def shuffle_value(view: dict[str, Any]) -> str:
    [actions] = [b for b in view["blocks"] if b["type"] == "actions"]
    [button] = actions["elements"]
    assert button["text"]["text"] == "Shuffle"
    return str(button["value"])


def shown_maxim(view: dict[str, Any]) -> int:
    """The number of the maxim a Home view shows (from its Shuffle button's state)."""
    preview = Preview.decode(shuffle_value(view), CORPUS)
    assert preview is not None
    return preview.maxim.number


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def subscription(channel: str, time: dt.time, zone: str, failing: str | None = None):
    return a_subscription(
        channel, time=time, timezone=zone, set_by="UADMIN", set_at=NOW, failing=failing
    )


# ------------------------------------------------------------------------------ the Home tab


async def test_home_shows_todays_maxim_on_the_date_of_the_users_time_zone(make_bot, fake):
    # 08:00 UTC on 28 November is 22:00 on the 27th in Honolulu: each sees their own day.
    fake.users["U1"] = {"tz": "Pacific/Honolulu"}
    fake.users["U2"] = {"tz": "UTC"}
    bot = make_bot()

    honolulu = await open_home(bot, "U1")
    utc = await open_home(bot, "U2")

    assert honolulu is not None
    assert utc is not None
    assert shown_maxim(honolulu) == 5  # the 27th's for U1; on the 28th U1 would get 2
    assert CORPUS.for_day(dt.date(2026, 11, 27), "slack:home:U1").number == 5
    assert CORPUS.for_day(dt.date(2026, 11, 28), "slack:home:U1").number == 2
    assert shown_maxim(utc) == CORPUS.for_day(dt.date(2026, 11, 28), "slack:home:U2").number
    assert "Your maxim of the day* · your time zone: Pacific/Honolulu" in texts(honolulu)
    assert "More dropout, fewer excuses." in texts(honolulu)


async def test_home_without_a_known_time_zone_uses_utc(make_bot, fake):
    fake.users["U1"] = {"tz": "Not/AZone"}
    bot = make_bot()

    view = await open_home(bot)

    assert view is not None
    assert shown_maxim(view) == CORPUS.for_day(dt.date(2026, 11, 28), "slack:home:U1").number
    assert "your time zone: UTC" in texts(view)


def cached_bot(fake, storage, now: list[float], **users) -> Bot:
    """A bot whose users.info cache runs on the clock `now[0]` (no sleeping past its minute)."""
    admins = SlackAdmins(users=SlackUsers(clock=lambda: now[0], **users))
    return Bot(fake, settings_for(fake), make_service(storage), admins=admins)


async def test_the_home_tab_asks_users_info_once_a_minute_per_person(fake, storage):
    fake.users["U1"] = {"tz": "Pacific/Honolulu"}
    now = [0.0]
    bot = cached_bot(fake, storage, now)

    await open_home(bot)
    now[0] = 59.0
    fake.users["U1"] = {"tz": "Asia/Tokyo"}  # moved, but within the minute: not asked yet
    second = await open_home(bot)
    assert len(fake.calls_to("users.info")) == 1
    assert len(fake.calls_to("views.publish")) == 2
    assert second is not None
    assert "your time zone: Pacific/Honolulu" in texts(second)

    now[0] = 60.5
    third = await open_home(bot)

    assert len(fake.calls_to("users.info")) == 2
    assert third is not None
    assert "your time zone: Asia/Tokyo" in texts(third)


async def test_the_users_info_cache_is_bounded_and_forgets_the_least_recent(fake, storage):
    for user in ("U1", "U2", "U3"):
        fake.users[user] = {"tz": "UTC"}
    bot = cached_bot(fake, storage, [0.0], size=2)

    for user in ("U1", "U2", "U3", "U3"):
        await open_home(bot, user)
    assert [c.body["user"] for c in fake.calls_to("users.info")] == ["U1", "U2", "U3"]
    await open_home(bot, "U1")  # pushed out by U3: asked again

    assert [c.body["user"] for c in fake.calls_to("users.info")] == ["U1", "U2", "U3", "U1"]


async def test_the_admin_check_and_the_home_tab_share_one_users_info_answer(fake, storage):
    fake.users["U1"] = {"is_admin": True, "tz": "Europe/Berlin"}
    bot = cached_bot(fake, storage, [0.0])

    answer = await bot.command("daily 09:00")
    view = await open_home(bot)

    assert "09:00" in json.dumps(answer)
    assert view is not None
    assert "your time zone: Europe/Berlin" in texts(view)
    assert len(fake.calls_to("users.info")) == 1


async def test_opening_the_messages_tab_publishes_nothing(make_bot, fake):
    fake.users["U1"] = {}
    bot = make_bot()

    assert await open_home(bot, tab="messages") is None
    assert fake.calls_to("views.publish") == []


async def test_shuffle_publishes_the_home_again_with_another_maxim(make_bot, fake):
    fake.users["U1"] = {"tz": "Pacific/Honolulu"}
    bot = make_bot()
    first = await open_home(bot)
    assert first is not None

    response = await bot.dispatch(home_actions_body(ACTION_HOME_SHUFFLE, shuffle_value(first)))
    await bot.settle()

    assert response.status == 200
    second = fake.home_views["U1"]
    assert shown_maxim(second) != shown_maxim(first)
    assert "Another maxim" in texts(second)
    assert Preview.decode(shuffle_value(second), CORPUS).kind == "random"
    assert len(fake.calls_to("views.publish", ok=True)) == 2


async def test_home_lists_the_commands_from_the_core_help(make_bot, fake):
    fake.users["U1"] = {}
    view = await open_home(make_bot())

    assert view is not None
    for line in render_help().splitlines():
        assert line.replace("`", "") in texts(view)
    assert "with or without `/maxim`" in texts(view)


async def test_home_lists_the_daily_posts_of_the_users_channels_only(make_bot, fake, storage):
    fake.users["U1"] = {}
    fake.member_of |= {"C1", "C2", "CPRIV", "CGONE"}
    fake.private_channels.add("CPRIV")
    fake.channel_members.update({"C1": {"U1"}, "C2": {"U2"}, "CPRIV": {"U1"}, "CGONE": {"U1"}})
    await storage.save_subscription(subscription("C1", dt.time(9, 0), "Europe/Berlin"))
    await storage.save_subscription(subscription("C2", dt.time(10, 0), "UTC"))  # not U1's
    tokyo = subscription("CPRIV", dt.time(7, 30), "Asia/Tokyo")
    await storage.save_subscription(replace(tokyo, days=0b0011111))
    await storage.save_subscription(subscription("CGONE", dt.time(8, 0), "UTC", "not_in_channel"))

    view = await open_home(make_bot())

    assert view is not None
    [posts] = [
        b["text"]["text"]
        for b in view["blocks"]
        if b["type"] == "section" and "daily at" in b["text"]["text"]
    ]
    assert posts.splitlines() == [  # NOW is Saturday 28 Nov, 09:00 in Berlin: today's is due
        "<#C1> · daily at 09:00 Europe/Berlin · next: Sun 29 Nov 09:00 Europe/Berlin",
        "<#CGONE> · daily at 08:00 UTC · :warning: posting is failing",
        "<#CPRIV> · daily at 07:30 Asia/Tokyo · weekdays · next: Mon 30 Nov 07:30 Asia/Tokyo",
    ]
    [listing] = fake.calls_to("users.conversations")
    assert listing.body["user"] == "U1"


async def test_home_reads_only_the_daily_posts_of_its_own_workspace(make_bot, fake, storage):
    """One deployment serves thousands of workspaces: a Home tab reads its own workspace's."""
    fake.users["U1"] = {}
    shared = {"C1", "CCONNECT", "CCONFIG"}  # CCONNECT: a channel shared with workspace T2
    fake.member_of |= shared
    fake.channel_members.update({c: {"U1"} for c in shared})
    await storage.save_subscription(subscription("C1", dt.time(9, 0), "UTC"))
    other = subscription("CCONNECT", dt.time(10, 0), "UTC")
    await storage.save_subscription(replace(other, workspace="T2"))  # set in T2
    unnamed = subscription("CCONFIG", dt.time(11, 0), "UTC")  # a [[daily]] naming no workspace
    await storage.save_subscription(replace(unnamed, workspace=""))

    view = await open_home(make_bot())

    assert view is not None
    assert "<#C1> · daily at 09:00 UTC" in texts(view)
    assert "<#CCONFIG> · daily at 11:00 UTC" in texts(view)
    assert "CCONNECT" not in texts(view)


async def test_home_names_the_next_post_on_chosen_days_as_maxim_daily_does(fake, storage):
    # Seen on Friday 4 Dec: a sat,sun post comes tomorrow, a mon-fri one in an hour (10:00
    # Berlin), a tue-thu one next Tuesday; `/maxim daily` in each channel says the same.
    friday = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    service = build_service(Settings(), storage, clock=lambda: friday, corpus=CORPUS)
    fake.users["U1"] = {"tz": "Europe/Berlin"}
    days = {"CWEEKEND": "sat,sun", "CWORK": "weekdays", "CMID": "tue-thu"}
    fake.member_of |= set(days)
    fake.channel_members.update({c: {"U1"} for c in days})
    for channel, chosen in days.items():
        post = subscription(channel, dt.time(10, 0), "Europe/Berlin")
        await storage.save_subscription(replace(post, days=parse_days(chosen)))

    view = await open_home(Bot(fake, settings_for(fake), service))

    assert view is not None
    expected = {
        "CWEEKEND": "Sat 05 Dec 10:00 Europe/Berlin",
        "CWORK": "Fri 04 Dec 10:00 Europe/Berlin",
        "CMID": "Tue 08 Dec 10:00 Europe/Berlin",
    }
    for channel, upcoming in expected.items():
        line = f"<#{channel}> · daily at 10:00 Europe/Berlin · {days[channel]} · next: {upcoming}"
        assert line in texts(view)
        status = await service.command(Origin("slack", channel, "U1", "T1"), "daily", admin)
        assert isinstance(status, TextReply)
        assert f"Next: {upcoming} (in " in status.text
    assert view_problem(view) is None


async def admin() -> bool:
    return True


async def test_home_asks_slack_for_no_channels_when_there_are_no_daily_posts(make_bot, fake):
    fake.users["U1"] = {}

    view = await open_home(make_bot())

    assert view is not None
    assert "None of your channels has a daily post" in texts(view)
    assert fake.calls_to("users.conversations") == []


async def test_home_says_when_it_cannot_list_the_channels(make_bot, fake, storage):
    fake.users["U1"] = {}
    await storage.save_subscription(subscription("C1", dt.time(9, 0), "UTC"))
    fake.fail_next("users.conversations", "missing_scope")

    view = await open_home(make_bot())

    assert view is not None
    assert "couldn’t list your channels" in texts(view)
    assert "daily at" not in texts(view)


async def test_home_lists_channels_page_by_page_within_a_bound(make_bot, fake, storage):
    fake.users["U1"] = {}
    channels = [f"C{n:04d}" for n in range(1200)]
    fake.member_of |= set(channels)
    fake.channel_members.update({c: {"U1"} for c in channels})
    await storage.save_subscription(subscription("C0001", dt.time(9, 0), "UTC"))
    await storage.save_subscription(subscription("C1100", dt.time(9, 0), "UTC"))  # page 6

    view = await open_home(make_bot())

    assert view is not None
    assert len(fake.calls_to("users.conversations")) == 5
    assert "<#C0001>" in texts(view)
    assert "<#C1100>" not in texts(view)


# ------------------------------------------------------------------------------ direct messages


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("34", "34"),
        ("#34", "#34"),
        ("/maxim 34", "34"),
        ("/maxim", ""),
        ("/MAXIM my loss is NaN", "my loss is NaN"),
        ("search dropout", "search dropout"),
        ("today", "today"),
        ("help", "help"),
        ("daily off", "daily off"),
        ("my loss is NaN", None),
        ("today my loss is NaN", None),
        ("thanks!", None),
        ("   ", None),
    ],
)
def test_a_direct_message_is_a_command_when_it_reads_as_one(text, query):
    assert direct_command(text) == query


@pytest.mark.parametrize("text", ["34", "/maxim 34", "<@UBOT> 34"])
async def test_a_direct_message_34_is_answered_with_maxim_34_in_the_dm_once(fake, storage, text):
    corpus = load_corpus()
    bot = Bot(fake, settings_for(fake), make_service(storage, corpus=corpus))

    for _ in range(2):  # a redelivery of the same event
        await bot.dispatch(
            event_body(direct_message_event(text, "U1", ts="700.1"), event_id="EvDM")
        )
    await bot.settle()

    [answer] = fake.calls_to("chat.postMessage")
    assert answer.ok
    assert answer.body["channel"] == "DU1"
    assert answer.body["text"] == f"Maxim 34: {corpus.get(34).text}"
    assert "thread_ts" not in answer.body  # a conversation of two: no thread


async def test_a_direct_message_help_is_answered_with_help_in_the_dm(make_bot, fake):
    bot = make_bot()

    await bot.dispatch(event_body(direct_message_event("help", "U5")))
    await bot.settle()

    [answer] = fake.calls_to("chat.postMessage")
    assert answer.body["channel"] == "DU5"
    assert "/maxim search WORDS" in texts(answer.body)
    assert fake.calls_to("chat.postEphemeral") == []


async def test_today_in_a_direct_message_is_the_maxim_of_the_users_home_tab(make_bot, fake):
    fake.users["U1"] = {"tz": "Pacific/Honolulu"}
    bot = make_bot()
    home = await open_home(bot)
    assert home is not None

    for _ in range(2):  # a redelivery of the same event
        await bot.dispatch(event_body(direct_message_event("today", "U1"), event_id="EvToday"))
    await bot.settle()

    [answer] = fake.calls_to("chat.postMessage")
    assert answer.body["channel"] == "DU1"
    assert answer.body["text"] == "Maxim 5: More dropout, fewer excuses."  # not the DM's own 4
    assert shown_maxim(home) == 5
    assert "today’s maxim" in texts(answer.body)


async def test_nan_in_a_direct_message_is_answered_once_per_cooldown(fake, storage):
    clock = [NOW]
    settings = Settings(triggers=TriggersConfig(cooldown_seconds=60))
    service = build_service(
        settings, storage, clock=lambda: clock[0], rng=random.Random(1), corpus=CORPUS
    )
    bot = Bot(fake, settings_for(fake), service)

    async def say(text: str, event_id: str) -> None:
        await bot.dispatch(event_body(direct_message_event(text, ts="800.1"), event_id=event_id))
        await bot.settle()

    await say("my loss is NaN", "Ev1")
    await say("still NaN", "Ev2")
    clock[0] = NOW + dt.timedelta(seconds=61)
    await say("NaN again", "Ev3")

    answers = fake.calls_to("chat.postMessage")
    assert len(answers) == 2
    for answer in answers:
        assert answer.body["channel"] == "DU1"
        assert "thread_ts" not in answer.body
        number = int(answer.body["text"].split(":")[0].removeprefix("Maxim "))
        assert "nan" in CORPUS.get(number).tags


async def test_conversation_in_a_direct_message_gets_no_answer(make_bot, fake):
    bot = make_bot()

    await bot.dispatch(event_body(direct_message_event("thanks, that helped")))
    await bot.settle()

    assert fake.calls_to("chat.postMessage") == []


async def test_a_command_in_a_channel_message_is_still_not_answered(make_bot, fake):
    bot = make_bot()

    await bot.dispatch(event_body(message_event("34")))
    await bot.dispatch(event_body(message_event("help <@UBOT>"), event_id="Ev2"))
    await bot.settle()

    assert fake.calls_to("chat.postMessage") == []


async def test_a_mention_of_the_bot_in_a_direct_message_is_just_a_name(make_bot, fake):
    bot = make_bot()  # Slack sends no app_mention for direct messages: this is the only event

    await bot.dispatch(event_body(direct_message_event("<@UBOT> my loss is NaN")))
    await bot.settle()

    [answer] = fake.calls_to("chat.postMessage")
    assert answer.body["channel"] == "DU1"
    assert answer.body["text"].startswith(("Maxim 2:", "Maxim 4:"))  # the NaN maxims


# ------------------------------------------------------------------------------ rendering


def test_the_home_view_never_carries_a_live_mention_or_link():
    hostile = [
        subscription("<!channel>", dt.time(9, 0), "<!here>"),
        subscription("C1|<@U999>", dt.time(9, 0), "UTC"),
    ]

    view = render_home(Preview(CORPUS.get(1), "today"), "<@U2> &", hostile)

    shown = texts(view)
    assert "&lt;!channel&gt;" in shown
    assert "<!" not in shown
    assert "<@" not in shown
    assert "<http" not in shown
    assert view_problem(view) is None


def test_the_home_view_lists_at_most_twenty_daily_posts_within_slacks_limits():
    posts = [subscription(f"C{n:03d}", dt.time(9, 0), "UTC") for n in range(500)]

    view = render_home(Preview(load_corpus().get(70), "random"), "UTC", posts)

    assert view_problem(view) is None
    assert "<#C019>" in texts(view)
    assert "<#C020>" not in texts(view)
    assert "…and 480 more" in texts(view)
