"""NaN answers: the bot reads messages through the loopback Discord and replies once per cooldown.

`HandledMessages` tells when our ``on_message`` is done with a message, so a test can assert
that *no* answer came without sleeping.
"""

from __future__ import annotations

import re

from bot.platforms.discord.client import MAX_RATE_LIMIT_WAIT
from tests.bot.platforms.discord.helpers import (
    NAN_NUMBERS,
    HandledMessages,
    client_of,
    make_service,
    maxim_number,
    running,
    settings_for,
)


async def test_a_nan_message_gets_one_reply_and_a_second_inside_the_cooldown_none(fake, bot):
    handled = HandledMessages(client_of(bot))
    first = await fake.send_message(content="my loss is NaN after epoch 3")
    [reply] = await fake.wait_for_messages(1)
    second = await fake.send_message(content="still NaN, help")
    await handled.wait(first, second)

    assert len(fake.messages) == 1
    assert reply.channel_id == fake.default_channel_id
    assert reply.message_reference is not None
    assert int(reply.message_reference["message_id"]) == first
    assert reply.message_reference["fail_if_not_exists"] is False
    assert maxim_number(reply.embeds[0]) in NAN_NUMBERS
    assert reply.embeds[0]["footer"]["text"].startswith("nan")
    assert reply.allowed_mentions == {"parse": [], "replied_user": False}  # no ping at all
    assert fake.reactions == []  # none configured


async def test_the_cooldown_ends_and_the_next_nan_is_answered(fake, bot, clock):
    await fake.send_message(content="loss is NaN")
    await fake.wait_for_messages(1)
    clock.advance(seconds=601)
    await fake.send_message(content="NaN again")
    second, first = (await fake.wait_for_messages(2))[::-1]
    assert maxim_number(second.embeds[0]) != maxim_number(first.embeds[0])  # not the same twice


async def test_without_a_cooldown_every_nan_is_answered(fake, storage, clock):
    service = make_service(storage, clock, cooldown=0)
    async with running(settings_for(fake), service):
        for text in ("loss is NaN", "NaN again", "and NaN"):
            await fake.send_message(content=text)
        await fake.wait_for_messages(3)


async def test_a_cooldown_taken_by_another_process_is_respected(fake, bot, storage, clock):
    await storage.take_cooldown(
        "discord", str(fake.default_channel_id), "nan", now=clock(), seconds=600
    )
    handled = HandledMessages(client_of(bot))
    first = await fake.send_message(content="loss is NaN")
    await handled.wait(first)
    clock.advance(seconds=601)
    await fake.send_message(content="NaN after the cooldown")
    [reply] = await fake.wait_for_messages(1)
    assert maxim_number(reply.embeds[0]) in NAN_NUMBERS


async def test_messages_from_bots_webhooks_and_plain_chat_get_no_reply(fake, bot):
    handled = HandledMessages(client_of(bot))
    ids = [
        await fake.send_message(content="loss is NaN", bot=True),
        await fake.send_message(content="loss is NaN", webhook_id=fake.snowflake()),
        await fake.send_message(content="my nan is visiting, and banana bread"),
    ]
    await handled.wait(*ids)
    assert fake.messages == []


async def test_our_own_answer_does_not_trigger_us(fake, bot, clock):
    handled = HandledMessages(client_of(bot))
    await fake.send_message(content="NaN everywhere")
    [reply] = await fake.wait_for_messages(1)
    clock.advance(hours=1)  # no cooldown protects us now: only "ignore bots" does
    await handled.wait(reply.id)  # Discord echoes our reply, which mentions NaN
    assert len(fake.messages) == 1


async def test_a_configured_reaction_goes_on_the_nan_message(fake, storage, clock):
    settings = settings_for(fake, reaction="🤔")
    async with running(settings, make_service(storage, clock)):
        message_id = await fake.send_message(content="loss=nan")
        [reaction] = await fake.wait_for_reactions(1)
    assert (reaction.message_id, reaction.emoji) == (message_id, "🤔")


async def test_a_channel_the_bot_may_not_post_in_is_logged_not_raised(fake, bot, caplog):
    handled = HandledMessages(client_of(bot))
    fake.deny_channel(fake.default_channel_id)
    message_id = await fake.send_message(content="loss is NaN")
    await handled.wait(message_id)
    assert fake.messages == []
    assert "cannot answer in discord channel" in caplog.text
    assert "Traceback" not in caplog.text


class BrokenStorage:
    """A storage port that fails, to reach discord.py's event error boundary."""

    async def first_delivery(self, platform, event_id, *, now):
        raise RuntimeError("the disk is full")


async def test_a_failing_message_handler_is_logged_with_a_reference(fake, storage, clock, caplog):
    service = make_service(storage, clock)
    async with running(settings_for(fake), service) as platform:
        service.storage = BrokenStorage()  # after start: the command sync used the real one
        handled = HandledMessages(client_of(platform))
        message_id = await fake.send_message(content="loss is NaN")
        await handled.wait(message_id)
        again = await fake.send_message(content="loss is NaN, again")  # the gate is not stuck
        await handled.wait(again)
    assert fake.messages == []
    assert caplog.text.count("discord on_message failed (ref ") == 2
    failures = [r for r in caplog.records if "on_message failed" in r.getMessage()]
    assert [r.exc_info[0] if r.exc_info else None for r in failures] == [RuntimeError] * 2


LONG_LIMIT = MAX_RATE_LIMIT_WAIT + 540  # discord.py would sleep it out without the bot's cap
MESSAGES = re.compile(r"^/channels/\d+/messages$")


async def test_a_nan_answer_during_a_long_rate_limit_is_dropped_with_a_warning(fake, bot, caplog):
    handled = HandledMessages(client_of(bot))
    fake.rate_limit_next("POST", MESSAGES, retry_after=LONG_LIMIT)
    message_id = await fake.send_message(content="loss is NaN")
    await handled.wait(message_id)
    assert fake.messages == []
    assert f"rate-limited for {LONG_LIMIT:.0f} s in {fake.default_channel_id}" in caplog.text
    assert "Traceback" not in caplog.text
