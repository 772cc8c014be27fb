"""The audit log: every decision and state change, with who or what made it."""

from __future__ import annotations

from typing import Any

from loguru import logger
from sqlalchemy.orm import Session

from core.models import AuditEvent


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
