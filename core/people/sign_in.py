"""Signing in, rate-limited. Failed attempts are counted in Redis per name and per client
address over `sign_in_window_s`; past `sign_in_failures` of either, attempts are refused
before any password is checked, so guessing is slow whether it tries many passwords on one
name or one password on many names. A refusal never says whether the name exists.
"""

from __future__ import annotations

from redis import Redis
from sqlalchemy.orm import Session

from core import audit
from core.errors import DomainError
from core.people.sessions import OpenedSession, open_session
from core.people.users import authenticate
from core.settings import Settings

_INFIX = "sign-in-failures:"


class SignInRefused(DomainError):
    """The name and password do not match an active user."""


class TooManySignIns(DomainError):
    """Too many failed sign-ins for this name or from this address: wait."""


def _keys(settings: Settings, name: str, address: str) -> list[str]:
    prefix = f"{settings.redis_key_prefix}{_INFIX}"
    return [f"{prefix}name:{name.strip().casefold()}", f"{prefix}address:{address}"]


def sign_in(
    session: Session, redis: Redis, settings: Settings, name: str, password: str, address: str
) -> OpenedSession:
    """Open a session for the user `name` signing in from `address` with `password`.
    `TooManySignIns` past the failures allowed; `SignInRefused` (counted, audited without
    the name, which may be a password typed in the wrong box) for a wrong pair."""
    keys = _keys(settings, name, address)
    counts = redis.mget(keys)
    if any(int(count or 0) >= settings.sign_in_failures for count in counts):
        raise TooManySignIns("too many failed sign-ins: wait a few minutes and try again")
    user = authenticate(session, name, password)
    if user is None:
        window = max(round(settings.sign_in_window_s), 1)
        with redis.pipeline() as pipe:
            for key in keys:
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            pipe.execute()
        audit.record(session, "console", "user.sign_in_failed", "user", 0, address=address)
        session.commit()
        raise SignInRefused("that name and password do not match")
    return open_session(session, settings, user)
