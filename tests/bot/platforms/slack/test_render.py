"""Block Kit rendering: Slack's limits, and nothing that is not ours can link or mention."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bot.platforms.slack.render import (
    SECTION_LIMIT,
    escape,
    mention,
    render_list,
    render_maxim,
    render_preview,
    render_shared,
    render_text,
)
from bot.preview import Preview
from maxims import ListReply, Maxim, TextReply, load_corpus

OURS = re.compile(r"<@U7>")  # the only markup we write ourselves: who shared a maxim


def strings(message: dict) -> list[str]:
    found: list[str] = []

    def walk(value) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key != "value":  # button values are data for us, never shown or parsed
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(message)
    return found


def test_escape_turns_slacks_control_characters_into_entities():
    assert escape("<!channel> & <@U1|bob> <https://x|y>") == (
        "&lt;!channel&gt; &amp; &lt;@U1|bob&gt; &lt;https://x|y&gt;"
    )


def test_only_real_looking_user_ids_become_mentions():
    assert mention("U012AB3CD") == "<@U012AB3CD>"
    assert mention("W1") == "<@W1>"
    for bad in ("", "here", "!channel", "U1> <!here", "u1"):
        assert mention(bad) == "someone"


@given(text=st.text(min_size=1, max_size=300).filter(str.strip), tag=st.text(max_size=20))
def test_no_text_of_a_maxim_can_form_markup(text, tag):
    maxim = Maxim(1, text, (tag,))
    preview = Preview(maxim, "search", 0, tuple(text.split()[:3]), 3)
    messages = [render_maxim(maxim), render_shared(maxim, "U7"), render_preview(preview)]
    for message in messages:
        for value in strings(message):
            assert "<" not in OURS.sub("", value)
            assert ">" not in re.sub(r"^>|\n>", "", OURS.sub("", value))  # quote marks only


@given(text=st.text(max_size=500))
def test_no_reply_text_can_form_markup(text):
    for status in ("help", "notice", "error", "not_found"):
        for value in strings(render_text(TextReply(text, status))):
            assert "<" not in value
            assert ">" not in value


def test_the_whole_list_fits_slacks_limits():
    corpus = load_corpus()
    message = render_list(ListReply(corpus.maxims))

    sections = [b for b in message["blocks"] if b["type"] == "section"]
    assert len(message["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= SECTION_LIMIT for b in sections)
    listed = "\n".join(b["text"]["text"] for b in sections)
    assert [int(n) for n in re.findall(r"^\*(\d+)\.\*", listed, re.M)] == list(range(1, 71))


def test_help_is_preformatted_without_backticks_inside():
    message = render_text(TextReply("Usage:\n  `/maxim 42`  one <maxim>", "help"))

    [block] = message["blocks"]
    assert block["text"]["text"] == "```Usage:\n  /maxim 42  one &lt;maxim&gt;```"
    assert json.dumps(message).count("`") == 6


# ------------------------------------------------------------------------------ the manifest

MANIFEST = Path(__file__).resolve().parents[4] / "slack" / "manifest.yaml"


def listed_under(key: str) -> list[str]:
    """The ``- item`` lines right under ``key:`` (comments dropped): enough YAML for a check."""
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    items = []
    for line in lines[start + 1 :]:
        if line.strip().startswith("#"):
            continue
        if len(line) - len(line.lstrip()) <= indent or not line.strip().startswith("- "):
            break
        items.append(line.strip()[2:].split("#")[0].strip())
    return items


def test_the_manifest_asks_for_the_scopes_the_bot_uses_and_no_more():
    assert sorted(listed_under("bot")) == [
        "app_mentions:read",
        "channels:history",
        "channels:read",  # users.conversations, for the Home tab's daily posts
        "chat:write",
        "commands",
        "files:write",  # files_upload_v2: cards, shared and daily
        "groups:history",
        "groups:read",
        "im:history",
        "mpim:history",
        "reactions:write",
        "users:read",
    ]
    assert listed_under("bot_events") == [
        "app_home_opened",
        "app_mention",
        "message.channels",
        "message.groups",
        "message.im",
        "message.mpim",
    ]
    text = MANIFEST.read_text(encoding="utf-8")
    assert "- command: /maxim" in text
    assert "socket_mode_enabled: true" in text
    assert "is_enabled: true" in text
    assert "home_tab_enabled: true" in text
    assert "messages_tab_enabled: true" in text
    assert "messages_tab_read_only_enabled: false" in text  # people may write to the bot
