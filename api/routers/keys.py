"""`/v1/keys`: API keys for scripts, workers and people, listed, minted and revoked by an
admin."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, status

from api.deps import AdminDep, CursorQuery, IdPath, LimitQuery, SessionDep
from api.schemas.common import PageOut, page_out
from api.schemas.keys import ApiKeyCreate, ApiKeyMinted, ApiKeyOut
from core import auth
from core.clock import utcnow
from core.errors import InvalidState

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.get("", response_model=PageOut[ApiKeyOut])
def list_keys(
    session: SessionDep,
    _principal: AdminDep,
    include_revoked: bool = False,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[ApiKeyOut]:
    """Keys, oldest first; revoked ones too with `include_revoked`."""
    page = auth.list_api_keys(session, include_revoked=include_revoked, limit=limit, cursor=cursor)
    return page_out(page, ApiKeyOut.model_validate)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyMinted)
def create_key(body: ApiKeyCreate, session: SessionDep, principal: AdminDep) -> ApiKeyMinted:
    """Mint a key; the answer holds its plaintext, which is stored nowhere."""
    expires_at = (
        None if body.expires_in_days is None else utcnow() + timedelta(days=body.expires_in_days)
    )
    minted = auth.mint_api_key(session, body.name, body.role, principal.name, expires_at=expires_at)
    shown = ApiKeyOut.model_validate(minted.key)
    return ApiKeyMinted(**shown.model_dump(), key=minted.plaintext)


@router.post("/{key_id:int}/revoke", response_model=ApiKeyOut)
def revoke_key(key_id: IdPath, session: SessionDep, principal: AdminDep) -> ApiKeyOut:
    """Revoke a key: it stops working at once. Revoking it again is a 409, and so is
    revoking the key that makes the request (use another admin's, so that no one locks
    themselves out)."""
    if principal.key_id == key_id:
        raise InvalidState("a key cannot revoke itself; use another admin key")
    return ApiKeyOut.model_validate(auth.revoke_key(session, key_id, principal.name))
