"""Platform credentials sealed at rest: Fernet (AES-128-CBC with an HMAC), keys rotated
with MultiFernet.

The keys come from `FLEET_SECRET_KEY` (one or more Fernet keys, comma-separated, the one
that seals first), else from `FLEET_SECRET_KEY_FILE` (one key a line, the same order),
else from `var/secret.key`, made on first use (readable by its owner only). Every key
opens; only the first seals. To rotate: put a new key first, run `fleet secrets rotate`
(every sealed value is sealed again under it), then drop the old key.

A value that no key opens (a key lost, or a row written by hand) raises `Unreadable`,
which says so without the value.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from loguru import logger

from core.settings import Settings


class Unreadable(ValueError):
    """A sealed value no key opens."""


class Keyring:
    """The fleet's sealing keys: the first seals, every one opens."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("no secret key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, text: str) -> str:
        """`text` sealed under the first key."""
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, token: str) -> str:
        """The text sealed in `token`; `Unreadable` when no key opens it."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise Unreadable("a sealed value no secret key opens") from None

    def reseal(self, token: str) -> str:
        """`token` sealed again under the first key; `Unreadable` when no key opens it."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken:
            raise Unreadable("a sealed value no secret key opens") from None


def _key_file(path: Path) -> list[bytes]:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: two processes starting at once make one key, not two.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key() + b"\n")
            logger.bind(path=str(path)).warning(
                "made a secret key for sealing credentials; keep it with the database backups"
            )
    return [line.strip().encode() for line in path.read_text().splitlines() if line.strip()]


@lru_cache(maxsize=8)
def _keyring(keys: tuple[bytes, ...]) -> Keyring:
    return Keyring(list(keys))


def keyring(settings: Settings) -> Keyring:
    """The keyring `settings` name: `secret_key`, else `secret_key_file`, else
    `var_dir/secret.key` (made on first use)."""
    if settings.secret_key is not None:
        raw = settings.secret_key.get_secret_value().split(",")
        keys = [key.strip().encode() for key in raw if key.strip()]
    else:
        keys = _key_file(settings.secret_key_file or settings.var_dir / "secret.key")
    try:
        return _keyring(tuple(keys))
    except ValueError as exc:
        # Fernet's own message never holds the key.
        raise ValueError(f"the secret key is not a Fernet key: {exc}") from None
