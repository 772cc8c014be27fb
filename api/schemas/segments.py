"""Segment bodies: a saved fan filter, by name."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from api.schemas.common import FieldError, RequestBody, ResponseBody, VisibleName, examples
from core.crm import FanFilter, segment_problems
from core.models import Segment

SegmentName = VisibleName


class SegmentCreate(RequestBody):
    model_config = examples(
        {"name": "Whales gone quiet", "filter": {"tier": "top", "tags": ["vip"]}}
    )
    name: SegmentName = Field(description="What operators call it; unique.")
    filter: FanFilter = Field(description="The fans it selects, as `GET /v1/fans` filters them.")


class SegmentUpdate(RequestBody):
    name: SegmentName | None = Field(default=None, description="A new name.")
    filter: FanFilter | None = Field(default=None, description="A new filter, replacing it.")


class SegmentOut(ResponseBody):
    id: int
    name: str
    filter: dict[str, Any] = Field(description="The filter as stored.")
    problems: list[FieldError] = Field(
        description="What no longer holds in the stored filter (empty when it is sound)."
    )
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, segment: Segment) -> SegmentOut:
        return cls(
            id=segment.id,
            name=segment.name,
            filter=segment.filter,
            problems=[FieldError.of(problem) for problem in segment_problems(segment)],
            created_by=segment.created_by,
            created_at=segment.created_at,
            updated_at=segment.updated_at,
        )
