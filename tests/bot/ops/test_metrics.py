"""The metrics' shape: the kind of each reply, one registry per bot, bounded labels."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot import ops
from bot.ops.metrics import Metrics
from maxims import ListReply, MaximReply, TextReply, load_corpus

MAXIM = load_corpus().get(34)


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        (MaximReply((MAXIM,), "number"), "number"),
        (MaximReply((MAXIM,), "random"), "random"),
        (MaximReply((MAXIM,), "today"), "today"),
        (MaximReply((MAXIM,), "search", ("nan",)), "search"),
        (ListReply((MAXIM,)), "list"),
        (TextReply("usage", "help"), "help"),
        (TextReply("Posting here daily at 09:00.", "notice"), "daily"),
        (TextReply("No maxim matches.", "not_found"), "search"),
        (TextReply("There's no maxim 71", "error"), "error"),
        (TextReply("*Maxim stats here*", "stats"), "stats"),
        (None, "error"),
    ],
)
def test_each_reply_has_one_kind(reply, kind):
    assert ops.command_kind(reply) == kind
    assert kind in ops.COMMAND_KINDS


def samples(metrics: Metrics) -> dict:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_two_bots_in_one_process_count_apart():
    first, second = Metrics(("console",)), Metrics(("console",))
    first.command("console", "number", 0.01)
    first.trigger("console", "nan", answered=False)
    assert (
        samples(first)[("maxim_commands_total", (("kind", "number"), ("platform", "console")))] == 1
    )
    assert (
        samples(second)[("maxim_commands_total", (("kind", "number"), ("platform", "console")))]
        == 0
    )
    suppressed = ("maxim_trigger_suppressed_total", (("platform", "console"), ("rule", "nan")))
    assert samples(first)[suppressed] == 1
    assert suppressed not in samples(second)


def test_recording_does_nothing_without_an_active_recorder():
    assert ops.active.get() is None
    ops.record_command("console", "number", ops.started())  # no error, nothing to count into


def test_recording_goes_to_the_active_recorder_only():
    metrics = Metrics(("slack",))
    token = ops.active.set(metrics)
    try:
        ops.record_reply("slack", ListReply((MAXIM,)), ops.started())
        ops.record_daily_post("slack", "duplicate_avoided")
        ops.record_rate_limited("slack")
        ops.record_share("slack")
        ops.record_subscriptions(["slack"], ["slack", "slack", "discord"])
    finally:
        ops.active.reset(token)
    got = samples(metrics)
    assert got[("maxim_commands_total", (("kind", "list"), ("platform", "slack")))] == 1
    assert (
        got[("maxim_daily_posts_total", (("outcome", "duplicate_avoided"), ("platform", "slack")))]
        == 1
    )
    assert got[("maxim_rate_limited_total", (("platform", "slack"),))] == 1
    assert got[("maxim_shares_total", (("platform", "slack"),))] == 1
    assert got[("maxim_daily_subscriptions", (("platform", "slack"),))] == 2


def test_labels_never_hold_channel_or_user_ids():
    metrics = Metrics(("console", "slack", "discord"))
    names = {name for (_, labels) in samples(metrics) for name, _ in labels}
    assert names <= {
        "platform",
        "kind",
        "outcome",
        "rule",
        "version",
        "le",
        "implementation",
        "major",
        "minor",
        "patchlevel",
        "generation",
    }
