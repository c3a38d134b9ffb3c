"""What both chat emulators read from an uploaded image: a PNG's size, as Slack and Discord do.

Slack reports ``original_w``/``original_h`` of an image file and Discord ``width``/``height`` of
an image attachment; both read them from the picture, so the emulators do too (PNG only: the
bot's cards are PNGs).
"""

from __future__ import annotations

import struct

__all__ = ["png_size"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's width and height from its IHDR chunk; None for anything else."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)
