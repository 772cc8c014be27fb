"""API keys: minted once in plaintext, stored as sha256, verified per request.

The plaintext of a key is shown once by `create_api_key` and never stored. The configured
`worker_token` setting is accepted as a worker-role key, so a worker host needs no row.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from loguru import logger
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.clock import utcnow
from core.enums import Role
from core.errors import Conflict, InvalidState, get_or_raise
from core.models import ApiKey
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


def create_api_key(session: Session, name: str, role: Role, actor: str = "system") -> str:
    """Mint and commit a key; return its plaintext, which exists nowhere else afterwards."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=role, prefix=plaintext[:_LOOKUP_CHARS], key_hash=_hash(plaintext))
    session.add(key)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"an api key named {name!r} already exists") from exc
    audit.record(session, actor, "api_key.created", "api_key", key.id, name=name, role=role.value)
    session.commit()
    return plaintext


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
            return Principal(name=key.name, role=key.role, key_id=key.id)
    return None
