"""Characters that show as nothing, which no answer may echo back.

The rule is Unicode's own: the default-ignorable code points (``Default_Ignorable_Code_Point``
in DerivedCoreProperties.txt), which renderers draw as nothing unless they know better: soft
hyphens, zero-width spaces and joiners, bidirectional controls, variation selectors, tags and
the Hangul fillers. The fillers count as letters (`str.isalnum`), so without this rule a query
made of them looked like a word, and "No maxim matches “ㅤ”" echoed an invisible search.

The standard derives the property from data Python's `unicodedata` does not expose (it is
format characters, variation selectors and a short list of others, less a few exceptions), so
the ranges are written out here from Unicode 15.1; a test re-derives the format-character part
from `unicodedata` to catch a range left out. Braille Pattern Blank (U+2800) is added by hand:
a symbol, not default-ignorable, but it too shows as nothing.

Part of the core: imports nothing from ``bot`` and no SDK.
"""

from __future__ import annotations

DEFAULT_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD),  # soft hyphen
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x061C, 0x061C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x200B, 0x200F),  # zero-width space, joiners, left-to-right and right-to-left marks
    (0x202A, 0x202E),  # bidirectional embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidirectional isolates
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero-width no-break space (byte order mark)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # reserved
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE0FFF),  # tags, variation selectors 17-256, reserved
)
BRAILLE_BLANK = "\u2800"

INVISIBLE = frozenset(
    [chr(c) for first, last in DEFAULT_IGNORABLE_RANGES for c in range(first, last + 1)]
    + [BRAILLE_BLANK]
)
"""Every character that shows as nothing (default-ignorable, and the blank Braille pattern)."""
