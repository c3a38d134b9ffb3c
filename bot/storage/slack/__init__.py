"""Slack OAuth's storage: the installations of many workspaces and the single-use states.

`tables` holds the tables (slack_sdk's columns), `installations` the `SqlInstallationStore`
(token rotation done once across processes) and `oauth_states` the `SqlOAuthStateStore`.
Only `tables` is loaded with `bot.storage`; the stores import slack_sdk and are loaded on
first use.
"""
