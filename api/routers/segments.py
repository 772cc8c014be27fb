"""`/v1/segments`: saved fan filters. Operators save, rename, change and delete them, and
list the fans one selects now."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.deps import CursorQuery, FanSortQuery, IdPath, LimitQuery, SessionDep, StaffDep
from api.errors import invalid
from api.schemas.common import PageOut, page_out
from api.schemas.conversations import FanOut
from api.schemas.segments import SegmentCreate, SegmentOut, SegmentUpdate
from core.crm import (
    FanSort,
    create_segment,
    delete_segment,
    get_segment,
    list_segments,
    segment_fans,
    update_segment,
)

router = APIRouter(prefix="/v1/segments", tags=["segments"])


@router.get("", response_model=PageOut[SegmentOut])
def list_(
    session: SessionDep, _principal: StaffDep, limit: LimitQuery = 50, cursor: CursorQuery = None
) -> PageOut[SegmentOut]:
    """Segments, oldest first."""
    return page_out(list_segments(session, limit=limit, cursor=cursor), SegmentOut.of)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SegmentOut)
def create(body: SegmentCreate, session: SessionDep, principal: StaffDep) -> SegmentOut:
    """Save a fan filter under a name (409 if the name is taken)."""
    segment = create_segment(session, name=body.name, fan_filter=body.filter, actor=principal.name)
    return SegmentOut.of(segment)


@router.get("/{segment_id:int}", response_model=SegmentOut)
def get(segment_id: IdPath, session: SessionDep, _principal: StaffDep) -> SegmentOut:
    """One segment, with what no longer holds in its stored filter, if anything."""
    return SegmentOut.of(get_segment(session, segment_id))


@router.patch("/{segment_id:int}", response_model=SegmentOut)
def update(
    segment_id: IdPath, body: SegmentUpdate, session: SessionDep, principal: StaffDep
) -> SegmentOut:
    """Rename the segment or replace its filter."""
    if body.name is None and body.filter is None:
        raise invalid("nothing to change: give name or filter", "body")
    segment = update_segment(
        session, segment_id, name=body.name, fan_filter=body.filter, actor=principal.name
    )
    return SegmentOut.of(segment)


@router.delete("/{segment_id:int}", status_code=status.HTTP_204_NO_CONTENT)
def delete(segment_id: IdPath, session: SessionDep, principal: StaffDep) -> Response:
    """Delete the segment (the fans stay as they are)."""
    delete_segment(session, segment_id, actor=principal.name)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{segment_id:int}/fans", response_model=PageOut[FanOut])
def fans(
    segment_id: IdPath,
    session: SessionDep,
    _principal: StaffDep,
    sort: FanSortQuery = FanSort.spend,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[FanOut]:
    """A page of the fans the segment selects now; 409 naming what is wrong when its
    stored filter no longer holds."""
    page = segment_fans(session, segment_id, sort=sort, limit=limit, cursor=cursor)
    return page_out(page, FanOut.model_validate)
