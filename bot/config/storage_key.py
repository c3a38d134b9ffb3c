"""``MAXIM_STORAGE_KEY``: the Fernet keys that encrypt tokens at rest, read and checked.

The variable holds one or more Fernet keys, comma-separated: the first encrypts, every one
decrypts (`bot.storage.token_cipher`). Checked with the rest of the configuration, so that
``check-config`` and ``run`` both refuse a malformed key with one line (exit 2) that names
the variable and never shows the key. Kept apart from `bot.storage` so that checking the
configuration loads no database library; `cryptography` is imported only when a key is set.
"""

from __future__ import annotations

from pydantic import SecretStr

HOW = (
    "each key is 32 url-safe base64-encoded bytes, comma-separated, the new one first; make "
    'one with: python -c "from cryptography.fernet import Fernet; '
    'print(Fernet.generate_key().decode())"'
)


def storage_keys(secret: SecretStr | None) -> tuple[str, ...]:
    """The keys in ``MAXIM_STORAGE_KEY`` (None: not set), the one that encrypts first."""
    if secret is None:
        return ()
    return tuple(key.strip() for key in secret.get_secret_value().split(",") if key.strip())


def key_problem(secret: SecretStr | None) -> str | None:
    """What is wrong with ``MAXIM_STORAGE_KEY``, as ``MAXIM_STORAGE_KEY: ...``, or None."""
    if secret is None:
        return None
    keys = storage_keys(secret)
    if not keys:
        return f"MAXIM_STORAGE_KEY: no key in it ({HOW})"
    from cryptography.fernet import Fernet

    for n, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except ValueError:  # binascii.Error is one
            return f"MAXIM_STORAGE_KEY: key {n} of {len(keys)} is not a Fernet key ({HOW})"
    return None
