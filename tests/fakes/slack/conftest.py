"""The emulator's self-tests use the Slack tests' one `fake` fixture (defined there, once)."""

from tests.bot.platforms.slack.conftest import fake, no_slack_env

__all__ = ["fake", "no_slack_env"]
