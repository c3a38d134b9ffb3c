"""Rendering: Discord's limits on embeds and custom ids, and no reply that could ping anyone."""

from __future__ import annotations

import datetime as dt

from bot.platforms.discord.render import (
    custom_id,
    parse_custom_id,
    render_list,
    render_reply,
)
from bot.preview import ACTION_SHUFFLE, Preview
from maxims import ListReply, load_corpus

CORPUS = load_corpus()
DAY = dt.date(2026, 11, 28)
MANAGE_CHANNELS = 1 << 4


def test_custom_ids_fit_100_characters_even_for_long_searches():
    words = tuple(f"word{n}" for n in range(30))
    preview = Preview(CORPUS.get(1), "search", 3, words)
    value = custom_id(ACTION_SHUFFLE, 123456789012345678901, preview)
    assert len(value) <= 100
    press_ = parse_custom_id(value)
    assert press_ is not None
    decoded = Preview.decode(press_.encoded, CORPUS)
    assert decoded is not None
    assert press_.user == "123456789012345678901" and decoded.words == words[: len(decoded.words)]
    assert parse_custom_id("something_else") is None


def test_the_list_fits_discords_embed_limits():
    rendered = render_list(ListReply(CORPUS.maxims))
    embeds = [e.to_dict() for e in rendered["embeds"]]
    assert len(embeds) == 2
    assert all(len(e["description"]) <= 4096 for e in embeds)
    assert sum(len(e.get("title", "")) + len(e["description"]) for e in embeds) <= 6000


def test_every_rendered_reply_pings_nobody():
    from maxims import MaximReply, TextReply

    replies = [
        MaximReply((CORPUS.get(1),), "random"),
        ListReply(CORPUS.maxims),
        TextReply("help text", "help"),
        TextReply("nope", "error"),
    ]
    for preview in (True, False):
        for reply in replies:
            message = render_reply(reply, preview=preview, user_id=1)
            assert message["allowed_mentions"].to_dict() == {"parse": []}
