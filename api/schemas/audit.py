"""Audit log entries as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.schemas.common import ResponseBody


class AuditEventOut(ResponseBody):
    id: int
    at: datetime
    actor: str
    action: str
    subject_type: str
    subject_id: int
    detail: dict[str, Any]
