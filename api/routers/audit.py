"""`/v1/audit`: the audit log, read by an admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import AdminDep, CursorQuery, LimitQuery, SessionDep, query_time
from api.schemas.audit import AuditEventOut
from api.schemas.common import PageOut, page_out
from core import audit
from core.errors import MAX_ID

router = APIRouter(prefix="/v1/audit", tags=["audit"])

ActorQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="A key's name, a worker id, reconciler."),
]
ActionQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=100, description="send.delivered, draft.approved, ..."),
]


@router.get("", response_model=PageOut[AuditEventOut])
def list_audit(
    session: SessionDep,
    _principal: AdminDep,
    subject_type: Annotated[
        str | None, Query(min_length=1, max_length=50, description="send, draft, fan, ...")
    ] = None,
    subject_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    actor: Annotated[
        str | None,
        Query(
            min_length=1, max_length=200, description="A key's name, a worker id, reconciler, ..."
        ),
    ] = None,
    action: Annotated[
        str | None,
        Query(min_length=1, max_length=100, description="send.delivered, draft.approved, ..."),
    ] = None,
    since: Annotated[
        datetime | None,
        Query(description="From this time (included), ISO 8601; no time zone means UTC."),
    ] = None,
    until: Annotated[
        datetime | None,
        Query(description="Up to this time (excluded), ISO 8601; no time zone means UTC."),
    ] = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[AuditEventOut]:
    """Audit entries, newest first, filtered by subject, actor, action and time."""
    page = audit.list_events(
        session,
        subject_type=subject_type,
        subject_id=subject_id,
        actor=actor,
        action=action,
        since=query_time("since", since),
        until=query_time("until", until),
        limit=limit,
        cursor=cursor,
    )
    return page_out(page, AuditEventOut.model_validate)
