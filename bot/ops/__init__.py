"""What the bot tells its operator besides the log: metrics, probes and readiness.

The package face only hands names on. What every command calls lives in `bot.ops.recording`
(``from bot import ops; ops.record_reply(...)``, one context-variable read while metrics are
off); the Prometheus registry (`bot.ops.metrics`), the probe server (`bot.ops.probes`), the
readiness check (`bot.ops.readiness`) and the runner's entry (`bot.ops.serving`) load only
when ``[server] enabled = true``, so this face imports none of them.

Layering: ops sits with the other shared services, above storage and below the platforms and
the composition root. It imports neither: what it needs from them (a platform's name and
whether it is connected, a storage ping, whether the scheduler runs) is handed in.
"""

from bot.ops.recording import (
    COMMAND_KINDS,
    DAILY_OUTCOMES,
    Recorder,
    active,
    command_kind,
    record_command,
    record_daily_post,
    record_rate_limited,
    record_reply,
    record_share,
    record_subscriptions,
    record_trigger,
    started,
)

__all__ = [
    "COMMAND_KINDS",
    "DAILY_OUTCOMES",
    "Recorder",
    "active",
    "command_kind",
    "record_command",
    "record_daily_post",
    "record_rate_limited",
    "record_reply",
    "record_share",
    "record_subscriptions",
    "record_trigger",
    "started",
]
