"""Salted password hashes (PBKDF2-SHA256), so the database never holds a password."""

from __future__ import annotations

import hashlib
import hmac
import secrets

# Enough to make a leaked sandbox database useless, cheap enough that tests and benchmarks
# can log in hundreds of times.
_ITERATIONS = 50_000


def hash_password(password: str) -> str:
    """A self-describing hash string `pbkdf2_sha256$iterations$salt$digest`."""
    salt = secrets.token_hex(16)
    digest = _digest(password, salt, _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${salt}${digest}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash made by `hash_password`."""
    scheme, iterations, salt, digest = stored.split("$")
    if scheme != "pbkdf2_sha256":
        return False
    return hmac.compare_digest(_digest(password, salt, int(iterations)), digest)


def _digest(password: str, salt: str, iterations: int) -> str:
    raw = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return raw.hex()
