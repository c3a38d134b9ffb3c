"""A generator of realistic chat lines for the trigger benchmarks (seeded, so runs compare)."""

from __future__ import annotations

import random

PLAIN = [
    "morning all",
    "can someone review my PR?",
    "lunch?",
    "the build is green again",
    "I'll be 10 minutes late to standup",
    "has anyone seen the new eval dashboard",
    "thanks!",
    "nice work on the release",
    "who owns the feature store these days",
    "my nan is visiting this weekend",
    "banana bread in the kitchen",
    "Nancy joined the team",
    "finance wants the cost report by Friday",
    "nanosecond timers are overkill here",
    "let's sync after the offsite",
    "ship it",
    "lgtm",
    "ok",
    "+1",
    "the GPU queue is long again",
    "the data loader is the bottleneck, not the model",
    "can we bump the batch size?",
    "validation accuracy plateaued at 0.83",
]
CODE = [
    "`torch.isnan(x).any()` returns False for me",
    "use np.nanmean(values) instead",
    "x = np.nan  # placeholder",
    "```python\nloss = criterion(out, y)\n```",
    "df.fillna(0) fixed it",
    "see https://pytorch.org/docs/stable/generated/torch.nan_to_num.html",
    "<https://example.com/nan|the docs> say otherwise",
]
LOGS = [
    "epoch 3 step 1200 loss 0.4312 lr 3e-4",
    "INFO trainer: checkpoint saved to s3://runs/42",
    "WARNING: gradient norm 1e+05 at step 88",
    "RuntimeError: CUDA out of memory. Tried to allocate",
]
NAN = [
    "loss is NaN",
    "NaNs everywhere after step 300",
    "loss=nan",
    "tensor([nan, 1.])",
    "got nan after epoch 3",
    "val loss: nan",
    "why is everything NaN??",
]


def chat_lines(count: int, nan_share: float = 0.02, seed: int = 7) -> list[str]:
    """`count` lines: mostly chat, some code and logs, `nan_share` of them about NaN."""
    rng = random.Random(seed)
    lines = []
    for _ in range(count):
        roll = rng.random()
        if roll < nan_share:
            pool = NAN
        elif roll < 0.15:
            pool = CODE
        elif roll < 0.30:
            pool = LOGS
        else:
            pool = PLAIN
        lines.append(rng.choice(pool))
    return lines
