"""Signed-in browsers. Signing in opens a session: a random token for the browser's cookie,
of which only the sha256 is stored (a copy of the table signs nobody in), and a second
token its forms must carry (CSRF). A session ends at its expiry, when signed out, or when
its user is disabled.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal
from core.clock import utcnow
from core.models import ConsoleSession, User
from core.settings import Settings


@dataclass(frozen=True)
class OpenedSession:
    """A new session: the cookie's token (shown here only) and when it ends."""

    token: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """Who a session's browser is, and the token its forms must carry."""

    principal: Principal
    csrf_token: str
    session_id: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(
    session: Session, settings: Settings, user: User, *, now: datetime | None = None
) -> OpenedSession:
    """Open a session for `user`, audited, and commit."""
    now = now or utcnow()
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    row = ConsoleSession(
        user_id=user.id,
        token_hash=_hash(token),
        csrf_token=csrf,
        created_at=now,
        expires_at=now + timedelta(seconds=settings.console_session_s),
    )
    session.add(row)
    session.flush()
    audit.record(session, user.name, "user.signed_in", "user", user.id, session_id=row.id)
    session.commit()
    return OpenedSession(token=token, csrf_token=csrf, expires_at=row.expires_at)


def signed_in(
    session: Session, token: str | None, *, now: datetime | None = None
) -> SignedIn | None:
    """The signed-in user of the cookie's `token`, or None: no such session, ended,
    expired, or its user disabled."""
    if not token:
        return None
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None or row.expires_at <= (now or utcnow()):
        return None
    if row.user.disabled_at is not None:
        return None
    return SignedIn(
        principal=Principal(name=row.user.name, role=row.user.role),
        csrf_token=row.csrf_token,
        session_id=row.id,
    )


def end_session(session: Session, token: str | None) -> None:
    """Sign the cookie's browser out, audited, and commit; nothing for a session already
    over."""
    if not token:
        return
    row = session.scalar(select(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))
    if row is None or row.ended_at is not None:
        return
    row.ended_at = utcnow()
    audit.record(session, row.user.name, "user.signed_out", "user", row.user_id, session_id=row.id)
    session.commit()
