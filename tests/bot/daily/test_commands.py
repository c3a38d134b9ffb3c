"""`/maxim daily`: showing and changing a channel's daily post (`DailySubscriptions`).

Over real SQLite and a hand-moved clock at Saturday 28 Nov 2026, 08:00 UTC (09:00 in Berlin);
no scheduler: a change is seen through the `on_change` callback the scheduler would get.
"""

import datetime as dt

import pytest

from bot.chat import Origin
from bot.config import DailyConfig
from bot.daily.commands import ADMINS_ONLY, FROM_CONFIG, DailySubscriptions, config_subscriptions
from bot.storage import Subscription
from maxims import TextReply
from maxims.query import DailyOff, DailySet, DailyShow
from tests.helpers import NOW, Clock, run_python
from tests.helpers import subscription as a_subscription

HERE = Origin("slack", "C1", "U1", workspace="T1")
NONE_YET = TextReply(
    "This channel has no daily post. An admin can start one with "
    "`/maxim daily 09:00 Europe/Berlin`.",
    "notice",
)


class Daily:
    """`DailySubscriptions` on the test's storage, counting the changes it reports."""

    def __init__(self, storage, clock: Clock) -> None:
        self.changes = 0
        self.storage = storage
        self.commands = DailySubscriptions(storage, self.changed, clock=clock)

    async def changed(self) -> None:
        self.changes += 1

    async def say(self, query, *, admin: bool = True, origin: Origin = HERE):
        async def is_admin() -> bool:
            return admin

        return await self.commands.handle(origin, query, is_admin)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def daily(storage, clock) -> Daily:
    return Daily(storage, clock)


def subscription(at: dt.time = dt.time(9), zone: str = "Europe/Berlin", **changes) -> Subscription:
    return a_subscription(**({"time": at, "timezone": zone} | changes))


# -- show --------------------------------------------------------------------------------------


async def test_show_without_a_daily_post_says_how_to_start_one(daily):
    assert await daily.say(DailyShow()) == NONE_YET


async def test_show_is_for_everyone_and_never_asks_who_is_admin(daily, storage):
    await storage.save_subscription(subscription())

    async def must_not_ask() -> bool:
        raise AssertionError("showing needs no admin check")

    reply = await daily.commands.handle(HERE, DailyShow(), must_not_ask)
    assert reply == TextReply(
        "Daily post here at 09:00 Europe/Berlin. "
        "Next: Sun 29 Nov 09:00 Europe/Berlin (in 24 h 0 min).",
        "notice",
    )


async def test_show_says_when_posting_keeps_failing(daily, storage):
    await storage.save_subscription(subscription(failing="not_in_channel <!channel>"))
    assert await daily.say(DailyShow()) == TextReply(
        "Daily post here at 09:00 Europe/Berlin. "
        "Next: Sun 29 Nov 09:00 Europe/Berlin (in 24 h 0 min). "
        "But posting is failing (not_in_channel channel): check that I’m in this channel and "
        "may post, then set the time again to resume.",  # the reason can mention nobody
        "notice",
    )


# -- set ---------------------------------------------------------------------------------------


async def test_set_saves_the_subscription_and_says_when_the_next_post_comes(daily, storage):
    reply = await daily.say(DailySet(9, 0, "Europe/Berlin"))
    assert reply == TextReply(
        "Done: a maxim of the day will be posted here daily at 09:00 Europe/Berlin. "
        "Next: Sun 29 Nov 09:00 Europe/Berlin (in 24 h 0 min).",  # 09:00 today is now: not "next"
        "notice",
    )
    assert await storage.list_subscriptions() == [subscription()]
    assert daily.changes == 1


async def test_set_without_a_zone_keeps_the_channels_zone_else_utc(daily, storage, clock):
    await daily.say(DailySet(7, 30, None))
    assert await storage.get_subscription("slack", "C1") == subscription(dt.time(7, 30), "UTC")
    await daily.say(DailySet(18, 5, "Asia/Tokyo"))
    clock.advance(minutes=5)
    reply = await daily.say(DailySet(9, 0, None))
    assert reply.text.startswith("Done: a maxim of the day will be posted here daily at 09:00 ")
    assert await storage.get_subscription("slack", "C1") == subscription(
        dt.time(9), "Asia/Tokyo", set_at=NOW + dt.timedelta(minutes=5)
    )
    assert daily.changes == 3


async def test_set_on_a_failing_channel_makes_it_healthy_again(daily, storage):
    await storage.save_subscription(subscription(failing="channel_not_found"))
    await daily.say(DailySet(9, 0, "Europe/Berlin"))
    assert await storage.get_subscription("slack", "C1") == subscription()


async def test_an_unknown_zone_is_refused_with_the_accepted_form(daily, storage):
    reply = await daily.say(DailySet(9, 0, "Mars/Olympus <@U2>"))
    assert reply == TextReply(
        "I don’t know the time zone “Mars/Olympus U2”. Use an IANA name like `Europe/Berlin` "
        "or `America/New_York`: `/maxim daily 09:00 Europe/Berlin`.",
        "error",
    )
    assert await storage.list_subscriptions() == []
    assert daily.changes == 0


async def test_the_messages_name_the_platforms_command(storage, clock):
    commands = DailySubscriptions(storage, Daily(storage, clock).changed, command="/maxim-dev")

    async def admin() -> bool:
        return True

    assert (await commands.handle(HERE, DailyShow(), admin)).text.endswith(
        "`/maxim-dev daily 09:00 Europe/Berlin`."
    )


# -- as a card ---------------------------------------------------------------------------------


async def test_set_as_a_card_saves_the_style_and_says_so(daily, storage):
    reply = await daily.say(DailySet(9, 0, "Europe/Berlin", "card"))
    assert reply == TextReply(
        "Done: a maxim of the day will be posted here daily at 09:00 Europe/Berlin, as a card. "
        "Next: Sun 29 Nov 09:00 Europe/Berlin (in 24 h 0 min).",
        "notice",
    )
    assert await storage.list_subscriptions() == [subscription(style="card")]
    assert await daily.say(DailyShow()) == TextReply(
        "Daily post here at 09:00 Europe/Berlin, as a card. "
        "Next: Sun 29 Nov 09:00 Europe/Berlin (in 24 h 0 min).",
        "notice",
    )


async def test_thread_is_stored_shown_and_kept_until_turned_off(daily, storage):
    reply = await daily.say(DailySet(9, 0, "Europe/Berlin", None, None, True))
    assert ", with a thread to talk in. Next:" in reply.text
    assert await storage.get_subscription("slack", "C1") == subscription(thread=True)
    assert ", with a thread to talk in. Next:" in (await daily.say(DailyShow())).text
    await daily.say(DailySet(10, 0, None))  # a new time keeps the thread
    assert (await storage.get_subscription("slack", "C1")).thread is True
    await daily.say(DailySet(10, 0, None, None, None, False))  # and `no-thread` ends it
    assert (await storage.get_subscription("slack", "C1")).thread is False
    assert "thread" not in (await daily.say(DailyShow())).text


async def test_set_without_a_style_keeps_the_channels_style_else_text(daily, storage):
    await daily.say(DailySet(9, 0, "Europe/Berlin"))
    assert (await storage.get_subscription("slack", "C1")).style == "text"
    await daily.say(DailySet(9, 0, None, "card"))
    reply = await daily.say(DailySet(10, 0, None))  # a new time keeps the card
    assert reply.text.startswith("Done: a maxim of the day will be posted here daily at 10:00 ")
    assert ", as a card. Next:" in reply.text
    assert await storage.get_subscription("slack", "C1") == subscription(dt.time(10), style="card")
    await daily.say(DailySet(10, 0, None, "text"))  # and `text` turns it back
    assert await storage.get_subscription("slack", "C1") == subscription(dt.time(10))
    assert "card" not in (await daily.say(DailyShow())).text


async def test_a_config_entry_may_choose_cards(storage):
    text, card = config_subscriptions(
        [
            DailyConfig(platform="slack", channel="C1", workspace="T1"),
            DailyConfig(platform="slack", channel="C2", workspace="T1", style="card"),
        ],
        NOW,
    )
    assert (text.style, card.style) == ("text", "card")
    with pytest.raises(ValueError, match="style"):
        DailyConfig(platform="slack", channel="C3", style="picture")


async def test_a_config_entry_may_open_a_thread(storage):
    plain, threaded = config_subscriptions(
        [
            DailyConfig(platform="discord", channel="1"),
            DailyConfig.model_validate({"platform": "discord", "channel": "2", "thread": True}),
        ],
        NOW,
    )
    assert (plain.thread, threaded.thread) == (False, True)


# -- off ---------------------------------------------------------------------------------------


async def test_off_stops_the_daily_post(daily, storage):
    await daily.say(DailySet(9, 0, "Europe/Berlin"))
    reply = await daily.say(DailyOff())
    assert reply == TextReply("Stopped: no more daily posts in this channel.", "notice")
    assert await storage.list_subscriptions() == []
    assert await daily.say(DailyShow()) == NONE_YET
    assert daily.changes == 2


async def test_off_without_a_daily_post_says_there_was_nothing_to_stop(daily):
    reply = await daily.say(DailyOff())
    assert reply == TextReply("This channel had no daily post; nothing to stop.", "notice")


async def test_off_on_a_channel_set_in_the_config_says_where_it_is_set(daily, storage):
    entry = DailyConfig(platform="slack", channel="C1", workspace="T1", time="9:00")
    await storage.sync_config_subscriptions(config_subscriptions([entry], NOW))
    assert await daily.say(DailyOff()) == TextReply(FROM_CONFIG, "notice")
    assert await storage.list_subscriptions() == [
        subscription(dt.time(9), "UTC", set_by="config", source="config")
    ]
    assert daily.changes == 0
    # Setting a time in chat takes the channel over, as FROM_CONFIG promises.
    await daily.say(DailySet(10, 0, None))
    assert await storage.list_subscriptions() == [subscription(dt.time(10), "UTC")]


# -- days --------------------------------------------------------------------------------------


async def test_set_on_weekdays_names_the_days_and_the_next_posting_day(daily, storage):
    reply = await daily.say(DailySet(9, 0, "Europe/Berlin", None, 0b0011111))
    assert reply == TextReply(  # a Saturday: the next post is Monday's
        "Done: a maxim of the day will be posted here at 09:00 Europe/Berlin on weekdays. "
        "Next: Mon 30 Nov 09:00 Europe/Berlin (in 48 h 0 min).",
        "notice",
    )
    assert await storage.list_subscriptions() == [subscription(days=0b0011111)]
    assert await daily.say(DailyShow()) == TextReply(
        "Daily post here at 09:00 Europe/Berlin on weekdays. "
        "Next: Mon 30 Nov 09:00 Europe/Berlin (in 48 h 0 min).",
        "notice",
    )


async def test_a_new_time_keeps_the_days_and_new_days_replace_them(daily, storage):
    await daily.say(DailySet(9, 0, "Europe/Berlin", None, 0b10101))
    await daily.say(DailySet(10, 0, None))
    assert (await storage.get_subscription("slack", "C1")).days == 0b10101
    reply = await daily.say(DailySet(10, 0, None, "card", 0b1100000))
    assert reply.text == (
        "Done: a maxim of the day will be posted here at 10:00 Europe/Berlin on sat,sun, as a "
        "card. Next: Sat 28 Nov 10:00 Europe/Berlin (in 1 h 0 min)."
    )
    reply = await daily.say(DailySet(10, 0, None, None, 0b1111111))
    assert reply.text.startswith("Done: a maxim of the day will be posted here daily at 10:00 ")


async def test_config_days_become_the_subscriptions_days(storage):
    entry = DailyConfig(platform="slack", channel="C1", workspace="T1", days="tue-thu,sat")
    await storage.sync_config_subscriptions(config_subscriptions([entry], NOW))
    (stored,) = await storage.list_subscriptions()
    assert stored.days == 0b0101110
    changed = DailyConfig(platform="slack", channel="C1", workspace="T1", days="weekdays")
    await storage.sync_config_subscriptions(config_subscriptions([changed], NOW))
    (stored,) = await storage.list_subscriptions()
    assert stored.days == 0b0011111  # a changed entry replaces the row


def test_config_refuses_a_bad_day_and_says_what_works():
    with pytest.raises(ValueError, match="'funday' is not a day: use mon–sun"):
        DailyConfig(platform="slack", channel="C1", days="funday")


# -- admins only -------------------------------------------------------------------------------


@pytest.mark.parametrize("query", [DailySet(9, 0, "UTC"), DailyOff()])
async def test_only_admins_change_the_daily_post(daily, storage, query):
    await storage.save_subscription(subscription())
    assert await daily.say(query, admin=False) == TextReply(ADMINS_ONLY, "error")
    assert await storage.list_subscriptions() == [subscription()]
    assert daily.changes == 0


# -- what the module imports -------------------------------------------------------------------


@pytest.mark.child_process
def test_the_commands_do_not_import_the_scheduler():
    """Chat adapters import the commands; APScheduler is started only where the bot starts."""
    code = (
        "import sys, bot.daily.commands; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'apscheduler'))"
    )
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "[]\n"
