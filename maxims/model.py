"""The maxim value type and the small immutable-value base the core's types share.

Plain classes with ``__slots__`` instead of dataclasses: ``dataclasses`` imports ``inspect``,
which alone costs more than the whole ``maxim`` command's start-up budget.
The core must not import any chat SDK, the network, the clock or the environment.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs a few ms at start-up; mypy reads this name as usual
if TYPE_CHECKING:
    from typing import Any


class Value:
    """An immutable value: equality, hash and repr come from ``__slots__``.

    The order of ``__slots__`` is the order of the constructor's arguments.
    """

    __slots__: tuple[str, ...] = ()

    def __init__(self, *args: Any) -> None:
        for name, arg in zip(self.__slots__, args, strict=True):
            object.__setattr__(self, name, arg)

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value) or type(other) is not type(self):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._fields()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{n}={v!r}" for n, v in zip(self.__slots__, self._fields(), strict=True))
        return f"{type(self).__name__}({inner})"


class Maxim(Value):
    """One of the seventy maxims: its number (1-70), its text and its topic tags."""

    __slots__ = ("number", "text", "tags")
    number: int
    text: str
    tags: tuple[str, ...]

    def __init__(self, number: int, text: str, tags: tuple[str, ...] = ()) -> None:
        super().__init__(number, text, tuple(tags))

    def preview(self, width: int = 60) -> str:
        """The text cut to `width` characters at a word boundary, with an ellipsis if cut."""
        if len(self.text) <= width:
            return self.text
        cut = self.text[: width - 1]
        space = cut.rfind(" ")
        if space > width // 2:
            cut = cut[:space]
        return cut.rstrip(" ,;:—–-") + "…"
