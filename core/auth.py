"""API keys: minted once in plaintext, stored as sha256, verified per request.

The plaintext of a key is shown once by `mint_api_key` and never stored. A key works
until it is revoked (`revoke_key`) or its optional expiry passes. The configured
`worker_token` setting is accepted as a worker-role key, so a worker host needs no row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from loguru import logger
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.enums import Role
from core.errors import Conflict, InvalidState, get_or_raise
from core.models import ApiKey
from core.paging import Page, SortKey, paginate
from core.settings import Settings

KEY_PREFIX = "ifk_"
_LOOKUP_CHARS = 12
WORKER_TOKEN_NAME = "worker-token"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name (used as the audit actor) and its role."""

    name: str
    role: Role
    key_id: int | None = None


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


@dataclass(frozen=True)
class MintedKey:
    """A new key's row, and its plaintext, which exists nowhere else once shown."""

    key: ApiKey
    plaintext: str


def mint_api_key(
    session: Session,
    name: str,
    role: Role,
    actor: str = "system",
    *,
    expires_at: datetime | None = None,
) -> MintedKey:
    """Mint and commit a key, working until `expires_at` (None: until revoked). A name
    already taken is a `Conflict`, as is an expiry already past."""
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidState("expires_at must be in the future")
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        role=role,
        prefix=plaintext[:_LOOKUP_CHARS],
        key_hash=_hash(plaintext),
        expires_at=expires_at,
    )
    session.add(key)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"an api key named {name!r} already exists") from exc
    audit.record(
        session,
        actor,
        "api_key.created",
        "api_key",
        key.id,
        name=name,
        role=role.value,
        expires_at=None if expires_at is None else expires_at.isoformat(),
    )
    session.commit()
    return MintedKey(key, plaintext)


def create_api_key(session: Session, name: str, role: Role, actor: str = "system") -> str:
    """Mint and commit a key that works until revoked; return its plaintext."""
    return mint_api_key(session, name, role, actor).plaintext


def list_api_keys(
    session: Session, *, include_revoked: bool, limit: int, cursor: str | None
) -> Page[ApiKey]:
    """Keys, oldest first; revoked ones only when asked. Hashes stay in the rows."""
    stmt = select(ApiKey)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return paginate(session, stmt, [SortKey(ApiKey.id)], limit=limit, cursor=cursor)


def revoke_key(session: Session, key_id: int, actor: str) -> ApiKey:
    """Revoke a key: it stops authenticating at once."""
    key = get_or_raise(session, ApiKey, key_id, for_update=True)
    if key.revoked_at is not None:
        raise InvalidState(f"api key {key_id} is already revoked")
    key.revoked_at = utcnow()
    audit.record(session, actor, "api_key.revoked", "api_key", key.id, name=key.name)
    session.commit()
    return key


def verify_key(session: Session, plaintext: str, settings: Settings) -> Principal | None:
    """The principal a presented key stands for, or None when it is unknown or revoked."""
    if settings.worker_token and hmac.compare_digest(plaintext, settings.worker_token):
        return Principal(name=WORKER_TOKEN_NAME, role=Role.worker)
    if not plaintext.startswith(KEY_PREFIX):
        return None
    digest = _hash(plaintext)
    candidates = session.scalars(
        select(ApiKey).where(ApiKey.prefix == plaintext[:_LOOKUP_CHARS])
    ).all()
    for key in candidates:
        if hmac.compare_digest(key.key_hash, digest):
            if key.revoked_at is not None:
                logger.bind(key=key.name).warning("revoked api key presented")
                return None
            if key.expires_at is not None and key.expires_at <= utcnow():
                logger.bind(key=key.name).warning("expired api key presented")
                return None
            return Principal(name=key.name, role=key.role, key_id=key.id)
    return None
