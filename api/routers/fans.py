"""`/v1/fans`: a fan's data rights, exercised by an admin: export and erasure."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AdminDep, IdPath, SessionDep
from api.schemas.fans import ErasureOut, FanExport
from core.crm import erase_fan, export_fan

router = APIRouter(prefix="/v1/fans", tags=["fans"])


@router.get("/{fan_id:int}/export", response_model=FanExport)
def export(fan_id: IdPath, session: SessionDep, _principal: AdminDep) -> FanExport:
    """Everything held about the fan, as JSON: their details, conversations and messages,
    the drafts written for them, the sends to them and the audit entries about them."""
    return FanExport.model_validate(export_fan(session, fan_id))


@router.delete("/{fan_id:int}", response_model=ErasureOut)
def erase(fan_id: IdPath, session: SessionDep, principal: AdminDep) -> ErasureOut:
    """Erase the fan's data at their request: the text of their messages, of the drafts
    and sends for them, their name, tags and notes, and the details of the audit entries
    about them. Amounts stay. Sends waiting for them are cancelled, and nothing is stored,
    drafted or sent for them again. A send being typed to them right now is a 409."""
    return ErasureOut.model_validate(erase_fan(session, fan_id, actor=principal.name))
