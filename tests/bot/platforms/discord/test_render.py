"""Rendering: Discord's limits on embeds and custom ids, and no reply that could ping anyone."""

from __future__ import annotations

import pytest

from bot.platforms.discord.render import (
    ButtonPress,
    custom_id,
    escape,
    is_daily_post,
    parse_custom_id,
    render_daily,
    render_list,
    render_maxim,
    render_reply,
    render_text,
)
from bot.preview import ACTION_SHUFFLE, Preview
from maxims import ListReply, MaximReply, TextReply, load_corpus

CORPUS = load_corpus()


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


def test_the_daily_post_is_recognised_by_its_date_and_nothing_else():
    [embed] = [render_daily(CORPUS.get(34), "2026-11-28")["embed"]]
    assert embed.title == "Maxim of the day · #34"
    assert embed.footer.text == "nan, learning-rate, debugging · maxim of the day · 2026-11-28"
    assert is_daily_post(embed, "2026-11-28")
    assert not is_daily_post(embed, "2026-11-29")
    assert not is_daily_post(embed, "")
    assert not is_daily_post(render_maxim(CORPUS.get(34))["embed"], "2026-11-28")


def test_help_is_a_code_block_without_backticks_and_errors_carry_an_icon():
    help_text = render_text(TextReply("use `/maxim 34`\n```", "help"))["content"]
    assert help_text == "```\nuse /maxim 34\n\n```"
    assert render_text(TextReply("no maxim 71", "error"))["content"] == "⚠️ no maxim 71"
    assert render_text(TextReply("nothing", "not_found"))["content"] == "🔎 nothing"
    assert len(render_text(TextReply("x" * 3000, "error"))["content"]) == 2000


def test_user_text_in_a_maxim_embed_is_literal_markdown():
    assert escape("**bold** _it_ `code`") == r"\*\*bold\*\* \_it\_ \`code\`"


@pytest.mark.parametrize(
    ("value", "press"),
    [
        ("maxim_post:42:number|34|0|", ButtonPress("maxim_post", "42", "number|34|0|")),
        ("maxim_shuffle", ButtonPress("maxim_shuffle", "", "")),  # ours, but malformed
        ("maxim_cancel:7", ButtonPress("maxim_cancel", "7", "")),
        ("confirm", None),  # another bot's button
    ],
)
def test_parse_custom_id_reads_ours_even_when_malformed(value, press):
    assert parse_custom_id(value) == press
