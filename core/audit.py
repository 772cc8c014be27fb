"""The audit log: every decision and state change, with who or what made it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from loguru import logger
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.clock import as_utc
from core.db import insert_rows
from core.models import AuditEvent
from core.paging import Page, SortKey, paginate


def record(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: int,
    **detail: Any,
) -> AuditEvent:
    """Add an audit event to the session's transaction. `detail` must hold no message text
    and no credentials: it is logged as well as stored."""
    event = AuditEvent(
        actor=actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        detail=detail,
    )
    session.add(event)
    logger.bind(actor=actor, action=action, subject=f"{subject_type}:{subject_id}", **detail).info(
        "audit"
    )
    return event


def record_many(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    entries: Sequence[tuple[int, dict[str, Any]]],
) -> None:
    """Add one audit event per (subject id, detail) of `entries`, all of one `action` by
    one `actor` (a mass message's sends); one log line says how many, where a line each
    would flood the log with thousands."""
    if not entries:
        return
    # No objects: nothing reads these events back in the transaction.
    insert_rows(
        session,
        AuditEvent.__table__,
        [
            {
                "actor": actor,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "detail": detail,
            }
            for subject_id, detail in entries
        ],
    )
    logger.bind(actor=actor, action=action, subject_type=subject_type, events=len(entries)).info(
        "audit"
    )


def list_events(
    session: Session,
    *,
    subject_type: str | None = None,
    subject_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    cursor: str | None,
) -> Page[AuditEvent]:
    """Audit events, newest first, filtered by subject, actor, action and a time range
    (`since` included, `until` excluded)."""
    stmt = select(AuditEvent)
    if subject_type is not None:
        stmt = stmt.where(AuditEvent.subject_type == subject_type)
    if subject_id is not None:
        stmt = stmt.where(AuditEvent.subject_id == subject_id)
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    # A time given without an offset is read as UTC, as every stored time is.
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= as_utc(since))
    if until is not None:
        stmt = stmt.where(AuditEvent.at < as_utc(until))
    return paginate(
        session, stmt, [SortKey(AuditEvent.id, descending=True)], limit=limit, cursor=cursor
    )
