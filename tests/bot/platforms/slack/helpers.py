"""What the Slack tests share: tokens, a small corpus and a chat service over it.

Everything runs the real slack-bolt and slack_sdk against `tests.fakes.slack.api`.
"""

from __future__ import annotations

import datetime as dt
import random

from bot.bootstrap import build_service
from bot.chat import ChatService
from bot.config import Settings, TriggersConfig
from bot.storage import Storage
from maxims import Corpus, Maxim

BOT_TOKEN = "xoxb-test"
APP_TOKEN = "xapp-test"
SECRET = "test-signing-secret"
NOW = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)
# A small corpus: one maxim full of Slack control characters, two NaN maxims, two on dropout.
CORPUS = Corpus(
    [
        Maxim(1, "Escape <!channel> & <@U999> before <https://x.test|clicking>.", ("testing",)),
        Maxim(2, "If you’re seeing NaN, you need a smaller learning rate.", ("nan",)),
        Maxim(3, "Dropout is not a fix for a leaky validation set.", ("dropout",)),
        Maxim(4, "A NaN is a bug report from your optimiser.", ("nan", "debugging")),
        Maxim(5, "More dropout, fewer excuses.", ("dropout", "regularization")),
    ]
)


def make_service(storage: Storage, seed: int = 1) -> ChatService:
    """The chat service over `CORPUS`, at `NOW`, with no trigger cooldown."""
    settings = Settings(triggers=TriggersConfig(cooldown_seconds=0))
    return build_service(
        settings, storage, clock=lambda: NOW, rng=random.Random(seed), corpus=CORPUS
    )
