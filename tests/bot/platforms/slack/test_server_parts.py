"""The pure parts of the HTTP server: reading a body once, and the replay memory."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from bot.platforms.slack.server import (
    MAX_AGE,
    ReplayGuard,
    SlackBody,
    can_act,
    parse_form,
    read_body,
)
from tests.fakes.slack.payloads import slash_command_body
from tests.helpers import Seconds

FORM = "application/x-www-form-urlencoded"


def test_a_command_mentioning_payload_stays_a_command():
    body = read_body(slash_command_body("search payload").body, FORM)

    assert isinstance(body, SlackBody)
    assert (body.kind, body.fields["text"]) == ("form", "search payload")


# Form bodies built from the characters that mean something to the format, and any others.
_FORM_TEXT = st.text(alphabet=st.sampled_from("ab=&+%2F0g é;\x00"), max_size=40) | st.text(
    max_size=40
)


@given(_FORM_TEXT)
def test_a_form_is_read_exactly_as_parse_qsl_reads_it(body):
    assert parse_form(body) == dict(parse_qsl(body, keep_blank_values=True))


def test_a_form_decodes_escapes_and_pluses_and_keeps_blank_fields():
    body = urlencode({"text": "search a+b & 100%", "command": "/maxim", "empty": ""})

    assert parse_form(body + "&bare") == {
        "text": "search a+b & 100%",
        "command": "/maxim",
        "empty": "",
        "bare": "",
    }


def test_an_interaction_is_read_from_its_payload_field():
    body = read_body(urlencode({"payload": '{"type": "block_actions"}'}), FORM)

    assert body == SlackBody({"type": "block_actions"}, "interaction")


def test_events_are_json_objects_and_anything_else_is_refused():
    assert read_body('{"type": "event_callback"}', "application/json") == SlackBody(
        {"type": "event_callback"}, "json"
    )
    assert read_body("[1, 2]", "application/json") == "body is not a JSON object"
    assert read_body(urlencode({"payload": "[1]"}), FORM) == "payload is not a JSON object"
    assert read_body(urlencode({"payload": "{"}), FORM) == "payload is not JSON"


def nested(depth: int) -> str:
    return '{"a":' * (depth - 1) + "[1]" + "}" * (depth - 1)


def test_json_nested_up_to_64_levels_is_read_and_deeper_is_refused():
    assert isinstance(read_body(nested(64), "application/json"), SlackBody)
    assert read_body(nested(65), "application/json") == "body is nested deeper than 64 levels"
    form = urlencode({"payload": nested(65)})
    assert read_body(form, FORM) == "payload is nested deeper than 64 levels"
    # Deeper than the interpreter's recursion limit: the parser itself gives up.
    assert read_body(nested(100_000), "application/json") == "body is not JSON"


def test_only_buttons_and_daily_changes_can_act():
    # Events never reach the replay guard: each is acted on once per event id instead.
    def acts(text: str) -> bool:
        body = read_body(slash_command_body(text).body, FORM)
        assert isinstance(body, SlackBody)
        return can_act(body)

    assert acts("daily 09:00") and acts("daily off")
    assert not acts("") and not acts("34") and not acts("daily")
    assert can_act(SlackBody({"type": "block_actions"}, "interaction"))
    assert not can_act(SlackBody({"type": "event_callback"}, "json"))


async def test_a_key_is_refused_while_remembered_then_forgotten():
    shared: list[str] = []

    async def first_seen(key: str) -> bool:
        shared.append(key)
        return True

    clock = Seconds(1_000_000.0)
    guard = ReplayGuard(first_seen, clock)

    assert await guard.first("a", acts=False)
    assert not await guard.first("a", acts=True)
    clock.now += 2 * MAX_AGE - 1
    assert not await guard.first("a", acts=False)
    clock.now += 1
    assert await guard.first("a", acts=True)
    assert shared == ["a"]  # only a request that acts asks the other processes


async def test_the_memory_holds_only_the_keys_of_the_window():
    async def first_seen(key: str) -> bool:
        return True

    clock = Seconds(1_000_000.0)
    guard = ReplayGuard(first_seen, clock)
    for n in range(1000):
        assert await guard.first(f"k{n}", acts=False)
        clock.now += 2 * MAX_AGE / 100  # a hundred keys fit in the window

    assert len(guard) <= 101
