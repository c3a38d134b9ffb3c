"""Slack: the adapter package (Socket Mode and HTTP mode), loaded only when Slack is configured."""
