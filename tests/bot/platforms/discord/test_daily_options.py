"""`/maxim-daily`'s days, style and thread options, end to end through the loopback Discord.

They are read by the same grammar as `/maxim daily 09:00 Europe/Berlin mon-fri card thread`:
the tests hold the two forms to the same answer and the same stored subscription.
"""

from __future__ import annotations

from typing import Any

from bot.platforms.discord.client import build_discord_client
from bot.platforms.discord.sync import COMMAND_META_KEY, command_digest
from maxims.weekdays import EVERY_DAY, WEEKDAYS, parse_days
from tests.bot.platforms.discord.helpers import (
    client_of,
    make_service,
    puts,
    run_command,
    running,
    settings_for,
)
from tests.bot.platforms.discord.test_suggestions import autocomplete
from tests.fakes.discord.api import FakeDiscord

NOT_A_DAY = "⚠️ ‘{}’ is not a day: use mon–sun, ranges like mon-fri, or weekdays."


async def daily(fake: FakeDiscord, bot: Any, **options: Any) -> str:
    callback = await run_command(fake, client_of(bot), "maxim-daily", options)
    assert callback.ephemeral and callback.content is not None
    return callback.content


async def test_days_style_and_thread_set_what_the_typed_command_sets(fake, bot, storage):
    channel = str(fake.default_channel_id)
    typed = await run_command(
        fake,
        client_of(bot),
        "maxim",
        {"query": "daily 09:00 Europe/Berlin mon,wed,fri card thread"},
    )
    as_typed = await storage.get_subscription("discord", channel)
    await run_command(fake, client_of(bot), "maxim", {"query": "daily off"})

    done = await daily(
        fake,
        bot,
        time="09:00",
        zone="Europe/Berlin",
        days="Mon, Wed, Fri",
        style="card",
        thread=True,
    )

    assert done == typed.content
    assert done == (
        "Done: a maxim of the day will be posted here at 09:00 Europe/Berlin on mon,wed,fri, "
        "as a card, with a thread to talk in. Next: Mon 30 Nov 09:00 Europe/Berlin (in 48 h 0 min)."
    )
    sub = await storage.get_subscription("discord", channel)
    assert (sub.days, sub.style, sub.thread) == (parse_days("mon,wed,fri"), "card", True)
    assert (sub.days, sub.style, sub.thread) == (as_typed.days, as_typed.style, as_typed.thread)


async def test_options_left_empty_keep_the_channels_setting(fake, bot, storage):
    await daily(fake, bot, time="09:00", zone="Europe/Berlin", days="weekdays", thread=True)
    await daily(fake, bot, time="10:30", style="card")
    sub = await storage.get_subscription("discord", str(fake.default_channel_id))
    assert (sub.time.hour, sub.timezone, sub.days, sub.style, sub.thread) == (
        10,
        "Europe/Berlin",
        WEEKDAYS,
        "card",
        True,
    )
    await daily(fake, bot, time="10:30", days="every day", style="text", thread=False)
    sub = await storage.get_subscription("discord", str(fake.default_channel_id))
    assert (sub.days, sub.style, sub.thread) == (EVERY_DAY, "text", False)


async def test_bad_days_get_one_line_and_nothing_changes(fake, bot, storage):
    await daily(fake, bot, time="09:00", zone="Europe/Berlin", days="mon-fri")
    before = await storage.list_subscriptions("discord")

    funday = await daily(fake, bot, time="07:00", days="funday", style="card")
    not_a_zone = await daily(fake, bot, time="07:00", days="xyz")  # a day, not a zone
    in_a_list = await daily(fake, bot, time="07:00", days="mon,@everyone")

    assert funday == NOT_A_DAY.format("funday")
    assert not_a_zone == NOT_A_DAY.format("xyz")
    assert in_a_list.startswith("⚠️ ‘") and "@everyone" not in in_a_list
    assert await storage.list_subscriptions("discord") == before


async def test_days_autocomplete_offers_common_days_and_completes_the_one_typed(fake, bot):
    offered = await autocomplete(fake, "maxim-daily", "days", "")
    completed = await autocomplete(fake, "maxim-daily", "days", "mon,w")
    weekend = await autocomplete(fake, "maxim-daily", "days", "sat")

    assert offered[:2] == [
        {"name": "every day", "value": "every day"},
        {"name": "weekdays (mon-fri)", "value": "weekdays"},
    ]
    assert {"name": "sat,sun (the weekend)", "value": "sat,sun"} in weekend
    assert completed[0] == {"name": "mon,wed", "value": "mon,wed"}
    for choice in offered + completed + weekend:
        assert parse_days(choice["value"])  # every value reads back as days
        assert len(choice["name"]) <= 100


async def test_the_options_are_synced_within_discords_limits(fake, storage):
    async with running(settings_for(fake, guild_ids=[]), make_service(storage)):
        pass
    [synced] = [c for c in fake.synced_commands[None] if c["name"] == "maxim-daily"]
    options = {o["name"]: o for o in synced["options"]}
    assert list(options) == ["time", "zone", "days", "style", "thread"]
    assert (options["days"]["type"], options["days"]["autocomplete"]) == (3, True)
    assert [c["value"] for c in options["style"]["choices"]] == ["text", "card"]
    assert options["thread"]["type"] == 5  # a boolean
    for option in options.values():
        assert not option.get("required")
        assert 1 <= len(option["description"]) <= 100
        assert all(len(c["name"]) <= 100 for c in option.get("choices") or [])


async def test_a_tree_synced_before_the_days_options_is_synced_again_once(fake, storage):
    settings = settings_for(fake, guild_ids=[])
    tree = build_discord_client(make_service(storage), settings.discord).tree
    command = tree.get_command("maxim-daily")
    for name in ("days", "style", "thread"):
        del command._params[name]  # type: ignore[union-attr]  # as registered before
    key = COMMAND_META_KEY.format(application=fake.application_id, scope="global")
    await storage.set_meta(key, command_digest(tree, None))
    for _ in range(2):
        async with running(settings, make_service(storage)):
            pass
    assert puts(fake) == [f"/applications/{fake.application_id}/commands"]
