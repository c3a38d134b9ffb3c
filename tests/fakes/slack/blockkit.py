"""Slack's message limits, as the emulator enforces them on everything the bot sends.

Slack refuses a message that breaks a Block Kit limit with ``invalid_blocks`` and one whose
``text`` is too long with ``msg_too_long``; the bot's renderer must stay inside them, so the
emulator answers exactly like Slack rather than accepting anything. An image (an ``image``
block, or an image element of a context block) needs an absolute ``http(s)`` ``image_url``
(Slack fetches it: a relative or ``data:`` URL is refused) and a non-empty ``alt_text`` of
at most 2,000 characters. The emulator does not fetch the image itself.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

MAX_BLOCKS = 50
MAX_VIEW_BLOCKS = 100  # a Home tab or modal holds twice a message's blocks
MAX_PRIVATE_METADATA = 3000
MAX_SECTION_TEXT = 3000
MAX_BUTTON_VALUE = 2000
MAX_ID = 255  # action_id and block_id
MAX_TEXT = 40_000
MAX_IMAGE_URL = 3000
MAX_ALT_TEXT = 2000


def message_problem(message: dict[str, Any]) -> str | None:
    """Slack's error code for `message` (``invalid_blocks``, ``msg_too_long``), or None."""
    if len(str(message.get("text") or "")) > MAX_TEXT:
        return "msg_too_long"
    blocks = message.get("blocks")
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    if any(not isinstance(block, dict) or _block_problem(block) for block in blocks):
        return "invalid_blocks"
    return None


def view_problem(view: dict[str, Any]) -> str | None:
    """Why Slack would refuse a Home tab `view` (``invalid_arguments``), or None.

    Checked like a message's blocks, but with the views' own limit of 100 blocks.
    """
    if view.get("type") != "home":
        return "invalid_arguments"
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks or len(blocks) > MAX_VIEW_BLOCKS:
        return "invalid_arguments"
    if len(str(view.get("private_metadata") or "")) > MAX_PRIVATE_METADATA:
        return "invalid_arguments"
    if len(str(view.get("callback_id") or "")) > MAX_ID:
        return "invalid_arguments"
    if any(not isinstance(block, dict) or _block_problem(block) for block in blocks):
        return "invalid_arguments"
    return None


def _block_problem(block: dict[str, Any]) -> bool:
    if len(str(block.get("block_id") or "")) > MAX_ID:
        return True
    if block.get("type") == "section":
        text = block.get("text") or {}
        if len(str(text.get("text") or "")) > MAX_SECTION_TEXT:
            return True
    if block.get("type") == "image" and image_problem(block):
        return True
    elements = block.get("elements") or []
    if block.get("accessory"):
        elements = [*elements, block["accessory"]]
    return any(_element_problem(element) for element in elements if isinstance(element, dict))


def image_problem(image: dict[str, Any]) -> bool:
    """Whether Slack refuses an image block or element: its URL, or its alt text."""
    url = image.get("image_url")
    if not isinstance(url, str) or not url or len(url) > MAX_IMAGE_URL:
        return True
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return True
    alt = image.get("alt_text")
    return not isinstance(alt, str) or not alt.strip() or len(alt) > MAX_ALT_TEXT


def _element_problem(element: dict[str, Any]) -> bool:
    if len(str(element.get("action_id") or "")) > MAX_ID:
        return True
    if element.get("type") == "image" and image_problem(element):
        return True
    return (
        element.get("type") == "button" and len(str(element.get("value") or "")) > MAX_BUTTON_VALUE
    )
