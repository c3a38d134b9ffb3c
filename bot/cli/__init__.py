"""Command-line tools other than `maxim-bot` itself: the `maxim` fortune command."""
