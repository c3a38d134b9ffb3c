"""Tokens at rest: encrypted with Fernet when ``MAXIM_STORAGE_KEY`` is set, readable either way.

``MAXIM_STORAGE_KEY`` holds one or more Fernet keys, comma-separated (`cryptography`'s
`MultiFernet`): the first encrypts, every one decrypts, so a key is rotated by putting the new
one first and running ``maxim-bot migrate --rotate-key``, which re-encrypts every stored token
with it; then the old one can go.

A stored value says how it is stored: an encrypted one starts with `SEALED_PREFIX` (no Slack
token or URL does), anything else is plain text, as every row written before a key was set.
So a plain row stays readable after a key is set (and ``--rotate-key`` encrypts it), while an
encrypted row that no key given decrypts (none set, or the wrong one) is `StorageKeyError`:
found at start or by ``check-config --connect`` (exit 2), before any request needs the token.

`cryptography` is imported only when a key is set; the keys are never logged or shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from bot.storage.outages import StorageRefused

if TYPE_CHECKING:
    from cryptography.fernet import MultiFernet

SEALED_PREFIX: Final = "fernet:"
KEY_VARIABLE: Final = "MAXIM_STORAGE_KEY"


class StorageKeyError(StorageRefused):
    """A stored token cannot be decrypted with ``MAXIM_STORAGE_KEY`` as set: exit status 2."""


class TokenCipher:
    """Encrypts values for storage with the first key, decrypts them with any key.

    Without keys it stores plain text and reads plain text; an encrypted value then raises
    `StorageKeyError` naming ``MAXIM_STORAGE_KEY``.
    """

    def __init__(self, keys: Sequence[str] = ()) -> None:
        """Build the cipher; `keys` must be valid Fernet keys (`bot.config` checks them)."""
        self._fernet: MultiFernet | None = None
        if keys:
            from cryptography.fernet import Fernet, MultiFernet

            self._fernet = MultiFernet([Fernet(key) for key in keys])

    @property
    def encrypts(self) -> bool:
        """Whether a key is set, so that what is stored from now on is encrypted."""
        return self._fernet is not None

    def seal(self, value: str | None) -> str | None:
        """`value` as it is stored: encrypted with the first key when one is set."""
        if value is None or self._fernet is None:
            return value
        return SEALED_PREFIX + self._fernet.encrypt(value.encode()).decode("ascii")

    def unseal(self, value: str | None) -> str | None:
        """The stored `value` readable again; plain text is returned as it is.

        Raises:
            StorageKeyError: `value` is encrypted and no key given decrypts it.

        """
        if not is_sealed(value):
            return value
        assert value is not None  # noqa: S101 - is_sealed(None) is False
        if self._fernet is None:
            raise StorageKeyError(
                f"{KEY_VARIABLE}: storage holds encrypted Slack tokens but it is not set: set "
                "it to the key(s) they were encrypted with"
            )
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet.decrypt(value.removeprefix(SEALED_PREFIX)).decode()
        except InvalidToken:
            raise StorageKeyError(
                f"{KEY_VARIABLE}: none of its keys decrypts the Slack tokens in storage: set "
                "it to the key they were encrypted with (after a new key, keep the old one "
                "second until `maxim-bot migrate --rotate-key` has run)"
            ) from None

    def reseal(self, value: str | None) -> str | None:
        """`value` (plain or encrypted with any key) encrypted again with the first key."""
        return self.seal(self.unseal(value))


def is_sealed(value: str | None) -> bool:
    """Whether a stored value is encrypted (rather than plain text or NULL)."""
    return value is not None and value.startswith(SEALED_PREFIX)
