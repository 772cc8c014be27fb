"""Segments: fan filters saved under a name, for operators to come back to and for
campaigns to send to.

A segment stores its filter as the fan list reads it (`FanFilter`), and checks it each
time it is read: a filter stored before a rule tightened still reads, showing what no
longer holds (`segment_problems`), and listing its fans answers `InvalidState` naming it
until the filter is saved again.
"""

from __future__ import annotations

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit
from core.crm.fan_list import FanFilter, FanSort, list_fans
from core.db import StoredProblem
from core.errors import Conflict, InvalidState, get_or_raise
from core.models import Fan, Segment
from core.paging import Page, SortKey, paginate

_ORDER = [SortKey(Segment.id)]


def _stored(fan_filter: FanFilter) -> dict[str, object]:
    return fan_filter.model_dump(mode="json", exclude_defaults=True)


def segment_problems(segment: Segment) -> list[StoredProblem]:
    """What no longer holds in the segment's stored filter; none when it validates."""
    try:
        FanFilter.model_validate(segment.filter)
    except ValidationError as exc:
        return [
            StoredProblem(loc=("filter", *map(str, e["loc"])), msg=e["msg"], type=e["type"])
            for e in exc.errors()
        ]
    return []


def segment_filter(segment: Segment) -> FanFilter:
    """The segment's filter; `InvalidState` naming what is wrong when it no longer holds."""
    try:
        return FanFilter.model_validate(segment.filter)
    except ValidationError:
        where = "; ".join(f"{'.'.join(p.loc)}: {p.msg}" for p in segment_problems(segment))
        raise InvalidState(
            f"segment {segment.id}'s filter no longer holds ({where}): save it again"
        ) from None


def _name_free(session: Session, name: str, segment_id: int | None = None) -> None:
    taken = session.scalar(select(Segment.id).where(Segment.name == name))
    if taken is not None and taken != segment_id:
        raise Conflict(f"a segment named {name!r} exists already (segment {taken})")


def create_segment(session: Session, *, name: str, fan_filter: FanFilter, actor: str) -> Segment:
    """Save `fan_filter` as the segment `name` and commit; `Conflict` if the name is taken."""
    _name_free(session, name)
    segment = Segment(name=name, filter=_stored(fan_filter), created_by=actor)
    session.add(segment)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a segment named {name!r} exists already") from None
    audit.record(session, actor, "segment.created", "segment", segment.id)
    session.commit()
    return segment


def update_segment(
    session: Session,
    segment_id: int,
    *,
    name: str | None = None,
    fan_filter: FanFilter | None = None,
    actor: str,
) -> Segment:
    """Rename the segment or replace its filter, and commit."""
    segment = get_or_raise(session, Segment, segment_id, for_update=True)
    if name is not None:
        _name_free(session, name, segment.id)
        segment.name = name
    if fan_filter is not None:
        segment.filter = _stored(fan_filter)
    fields = [f for f, v in (("name", name), ("filter", fan_filter)) if v is not None]
    audit.record(session, actor, "segment.updated", "segment", segment.id, fields=fields)
    session.commit()
    return segment


def delete_segment(session: Session, segment_id: int, *, actor: str) -> None:
    """Delete the segment and commit."""
    segment = get_or_raise(session, Segment, segment_id, for_update=True)
    session.delete(segment)
    audit.record(session, actor, "segment.deleted", "segment", segment_id, name=segment.name)
    session.commit()


def get_segment(session: Session, segment_id: int) -> Segment:
    """One segment, or `NotFound`."""
    return get_or_raise(session, Segment, segment_id)


def list_segments(session: Session, *, limit: int, cursor: str | None) -> Page[Segment]:
    """Segments, oldest first."""
    return paginate(session, select(Segment), _ORDER, limit=limit, cursor=cursor)


def segment_fans(
    session: Session, segment_id: int, *, sort: FanSort, limit: int, cursor: str | None
) -> Page[Fan]:
    """A page of the fans the segment selects now."""
    segment = get_or_raise(session, Segment, segment_id)
    return list_fans(session, segment_filter(segment), sort=sort, limit=limit, cursor=cursor)
