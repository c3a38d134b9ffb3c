"""Images for both chat emulators: a PNG's size, as Slack and Discord read it, and a test PNG.

Slack reports ``original_w``/``original_h`` of an image file and Discord ``width``/``height`` of
an image attachment; both read them from the picture, so the emulators do too (PNG only: the
bot's cards are PNGs).
"""

from __future__ import annotations

import random
import struct
import zlib

__all__ = ["ALT", "CARD", "png", "png_size"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int] | None:
    """A PNG's width and height from its IHDR chunk; None for anything else."""
    if len(data) < 24 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


ALT = "Maxim 34: If you’re seeing NaN, look for a division by zero — then look again."
"""Alt text shaped like a card's: a number, the maxim's words, an em dash."""


def png(width: int = 1200, height: int = 630) -> bytes:
    """A real grey PNG (signature, IHDR, IDAT, IEND) about the size of a card, without Pillow."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    noise = random.Random(width * height)  # some rows of noise: a card-sized file, ~10 kB
    rows = [b"\x00" + noise.randbytes(width) for _ in range(8)]
    pixels = zlib.compress(b"".join(rows) + b"\x00" * (width + 1) * (height - 8))
    return _PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


CARD = png()
