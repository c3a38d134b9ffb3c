"""The maxim value type and the small immutable-value base the core's types share.

Plain classes with ``__slots__`` instead of dataclasses: ``dataclasses`` imports ``inspect``,
which alone costs more than the whole ``maxim`` command's start-up budget.
The core must not import any chat SDK, the network, the clock or the environment.
"""

from __future__ import annotations

from operator import attrgetter  # already loaded by the interpreter's own start-up

TYPE_CHECKING = False  # typing costs a few ms at start-up; mypy reads this name as usual
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Value:
    """An immutable value: equality, hash and repr come from ``__slots__``.

    The order of ``__slots__`` is the order of the constructor's arguments.
    """

    __slots__: tuple[str, ...] = ()
    # Reads every slot at once, in C (an `attrgetter` per class): replies are hashed and
    # compared on every chat command, and a generator over the names cost microseconds each.
    _read: Callable[[Any], tuple[Any, ...]] = staticmethod(lambda value: ())

    def __init_subclass__(cls) -> None:
        names = cls.__slots__
        if len(names) > 1:
            cls._read = staticmethod(attrgetter(*names))
        elif names:
            one = attrgetter(names[0])
            cls._read = staticmethod(lambda value: (one(value),))
        else:
            cls._read = staticmethod(lambda value: ())

    def __init__(self, *args: Any) -> None:
        for name, arg in zip(self.__slots__, args, strict=True):
            object.__setattr__(self, name, arg)

    def _fields(self) -> tuple[Any, ...]:
        return self._read(self)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._read(self) == self._read(other)

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._read(self)))

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

    def __hash__(self) -> int:
        # The number tells maxims apart (equal maxims share it): hashing the text and tags
        # again for every reply that holds a maxim cost more than the rest of the lookup.
        return hash(self.number)

    def preview(self, width: int = 60) -> str:
        """The text cut to `width` characters at a word boundary, with an ellipsis if cut."""
        if len(self.text) <= width:
            return self.text
        cut = self.text[: width - 1]
        space = cut.rfind(" ")
        if space > width // 2:
            cut = cut[:space]
        return cut.rstrip(" ,;:—–-") + "…"
