"""Maxim cards: a maxim as a 1200×630 PNG, for chat, daily posts and the command line.

Importing this package does not import Pillow: `render_card` loads it on the first card
drawn, so the bot's idle memory and the ``maxim`` command's cold start do not pay for it
(a test checks this in a fresh process).
"""

from __future__ import annotations

from bot.cards.cache import CardCache
from bot.cards.naming import alt_text, card_filename, check_theme
from bot.cards.render import render_card
from bot.cards.themes import THEMES

__all__ = ["THEMES", "CardCache", "alt_text", "card_filename", "check_theme", "render_card"]
