"""The bot's Prometheus metrics, in one `CollectorRegistry` per bot (`Metrics`).

Not the library's global default registry: the tests run several bots in one process, and each
must count alone. The process, platform and GC collectors go into the same registry, so
``/metrics`` shows them too. Label values are bounded: platform, command kind, rule name and
outcome, never a channel or user id (each distinct value is a time series to store).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bot.ops.recording import COMMAND_KINDS, DAILY_OUTCOMES

# Commands answer in the acknowledgement (well under a second) or are deferred after 2 s.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)


def bot_version() -> str:
    """The installed version of the bot (``unknown`` when run from a bare checkout)."""
    try:
        return version("maxim-bot")
    except PackageNotFoundError:
        return "unknown"


class Metrics:
    """Every metric of one bot, and the `bot.ops.recording.Recorder` that updates them."""

    def __init__(self, platforms: tuple[str, ...] = ()) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._children: dict[tuple[str, str], tuple[Any, Any]] = {}
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.commands = Counter(
            "maxim_commands", "Commands answered", ["platform", "kind"], registry=registry
        )
        self.command_duration = Histogram(
            "maxim_command_duration_seconds",
            "From receiving a command to sending or acknowledging its answer",
            ["platform"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self.trigger_answers = Counter(
            "maxim_trigger_answers",
            "Messages answered by a rule",
            ["platform", "rule"],
            registry=registry,
        )
        self.trigger_suppressed = Counter(
            "maxim_trigger_suppressed",
            "Rule matches kept quiet by the cooldown",
            ["platform", "rule"],
            registry=registry,
        )
        self.daily_posts = Counter(
            "maxim_daily_posts",
            "Daily posts by outcome",
            ["platform", "outcome"],
            registry=registry,
        )
        self.shares = Counter(
            "maxim_shares",
            "Maxims shared from a preview (Slack Send, Discord Post)",
            ["platform"],
            registry=registry,
        )
        self.daily_subscriptions = Gauge(
            "maxim_daily_subscriptions",
            "Channels with a daily post",
            ["platform"],
            registry=registry,
        )
        self.rate_limited_total = Counter(
            "maxim_rate_limited",
            "Rate limits a platform imposed",
            ["platform"],
            registry=registry,
        )
        self.platform_up = Gauge(
            "maxim_platform_up",
            "1 while the platform is connected",
            ["platform"],
            registry=registry,
        )
        build = Gauge("maxim_build_info", "The running version", ["version"], registry=registry)
        build.labels(version=bot_version()).set(1)
        for platform in platforms:  # every series exists from the start, at zero
            self.platform_up.labels(platform=platform).set(0)
            self.command_duration.labels(platform=platform)
            self.rate_limited_total.labels(platform=platform)
            self.shares.labels(platform=platform)
            for kind in COMMAND_KINDS:
                self.commands.labels(platform=platform, kind=kind)
            for outcome in DAILY_OUTCOMES:
                self.daily_posts.labels(platform=platform, outcome=outcome)

    def command(self, platform: str, kind: str, seconds: float) -> None:
        """One command answered after `seconds` (on every command: the children are cached)."""
        children = self._children.get((platform, kind))
        if children is None:
            children = (
                self.commands.labels(platform=platform, kind=kind),
                self.command_duration.labels(platform=platform),
            )
            self._children[(platform, kind)] = children
        children[0].inc()
        children[1].observe(seconds)

    def trigger(self, platform: str, rule: str, *, answered: bool) -> None:
        """A rule matched: answered or suppressed."""
        counter = self.trigger_answers if answered else self.trigger_suppressed
        counter.labels(platform=platform, rule=rule).inc()

    def daily_post(self, platform: str, outcome: str) -> None:
        """One daily post's outcome."""
        self.daily_posts.labels(platform=platform, outcome=outcome).inc()

    def share(self, platform: str) -> None:
        """A maxim shared from a preview."""
        self.shares.labels(platform=platform).inc()

    def rate_limited(self, platform: str) -> None:
        """A platform rate-limited us."""
        self.rate_limited_total.labels(platform=platform).inc()

    def subscriptions(self, platform: str, count: int) -> None:
        """The number of channels of `platform` with a daily post."""
        self.daily_subscriptions.labels(platform=platform).set(count)

    def set_up(self, platform: str, *, up: bool) -> None:
        """Whether `platform` is connected (updated on every probe and scrape)."""
        self.platform_up.labels(platform=platform).set(1 if up else 0)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format."""
        return generate_latest(self.registry)
