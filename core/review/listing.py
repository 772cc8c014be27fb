"""The approval queue as operators read it: drafts with their fan's tier and their standing
(`core.priority` orders them), filtered and read a page at a time.

The order moves with the clock: a fan's wait adds points until the account's response
target, and from then on the draft is overdue and jumps the queue. Every other input is
kept on the draft's row (`core.priority.keys`), so at the moment it is read the queue
splits into three lanes, each read by its own index:

- overdue replies: every wait point is earned, so they order by their stored points,
  then the longer wait, then the older draft, as the index does;
- settled nudges (a nudge is never overdue), past their target: the same, after them;
- rising drafts, still within their target: their wait points are computed in SQL. They
  began their wait within the longest target, so an index on the wait's start finds them:
  the last response target's worth of traffic.

The settled and rising lanes merge by priority. A page reads only its own rows, however
long the queue is.

A cursor holds the moment its first page was read, so paging on through a queue that
moves under you skips and repeats nothing: drafts decided meanwhile drop out, new ones
wait for the next first page.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, not_, select
from sqlalchemy.orm import Session

from core.clock import epoch_ms, utcnow
from core.drafting.fan import SpendTier
from core.enums import DraftStatus
from core.errors import get_or_raise
from core.models import DRAFT_IS_NUDGE, DRAFT_IS_PENDING, AuditEvent, Draft
from core.paging import InvalidCursor, Page, SortKey, after, decode_cursor, encode_cursor, paginate
from core.priority import Standing, standing, waited_ms
from core.priority.order import POINT_SCALE, WAIT_POINTS
from core.settings import Settings


@dataclass(frozen=True)
class QueuedDraft:
    """A draft with its fan's spend tier and its standing in the approval queue."""

    draft: Draft
    fan_tier: SpendTier
    standing: Standing


def _queued(settings: Settings, draft: Draft, now_ms: int) -> QueuedDraft:
    """`draft` with its standing; the wait runs to the decision, or to `now_ms` while the
    draft is pending."""
    pending = draft.status == DraftStatus.pending
    until = now_ms if pending or draft.decided_at is None else epoch_ms(draft.decided_at)
    place = standing(
        points=-draft.queue_rank,
        kind=draft.kind,
        waited=waited_ms(draft.wait_since_ms, until),
        target_ms=draft.target_ms * settings.time_scale,
        pending=pending,
    )
    return QueuedDraft(draft=draft, fan_tier=draft.fan_tier, standing=place)


# A queue cursor: the moment of its first page, its lane (`_OVERDUE` or `_REST`), and the
# last row's key (points among the overdue, priority in the rest), wait start and id.
_QUEUE_CURSOR = (int, int, float, int, int)
_OVERDUE, _REST = 0, 1


@dataclass(frozen=True)
class _Lanes:
    """The queue at one moment (`as_of`, epoch ms), in three lanes that partition it, each
    read by index: overdue replies; nudges whose wait points are all earned (`settled`);
    and drafts still within their target (`rising`), newer than the longest target."""

    as_of: int
    time_scale: float

    @property
    def waited(self) -> ColumnElement[Any]:
        return self.as_of - Draft.wait_since_ms

    @property
    def target(self) -> ColumnElement[Any]:
        return cast(Draft.target_ms, Float) * self.time_scale

    @property
    def overdue(self) -> ColumnElement[bool]:
        return and_(not_(DRAFT_IS_NUDGE), self.waited >= self.target)

    @property
    def settled(self) -> ColumnElement[bool]:
        return and_(DRAFT_IS_NUDGE, self.waited >= self.target)

    def rising(self, longest_target_ms: int) -> ColumnElement[bool]:
        # A draft within its target began its wait within the longest target.
        earliest = self.as_of - math.ceil(longest_target_ms * self.time_scale)
        return and_(Draft.wait_since_ms >= earliest, self.waited < self.target)

    @property
    def priority(self) -> ColumnElement[float]:
        share = case(
            (self.waited <= 0, 0.0),
            (self.waited >= self.target, 1.0),
            else_=cast(self.waited, Float) / self.target,
        )
        return (WAIT_POINTS * share - cast(Draft.queue_rank, Float) / POINT_SCALE).label("priority")


# Both orders end on the longer wait, then the older draft. Among the overdue and the
# settled, every wait point is earned: the stored points order them, as the indexes do.
_BY_RANK = [
    SortKey(Draft.queue_rank),
    SortKey(Draft.wait_since_ms),
    SortKey(Draft.id),
]


def _by_priority(lanes: _Lanes) -> list[SortKey]:
    return [
        SortKey(lanes.priority, descending=True),
        SortKey(Draft.wait_since_ms),
        SortKey(Draft.id),
    ]


def _ordering(keys: Sequence[SortKey]) -> list[ColumnElement[Any]]:
    return [key.ordering() for key in keys]


def _overdue(
    session: Session,
    lanes: _Lanes,
    filters: Sequence[ColumnElement[bool]],
    key: list[Any] | None,
    n: int,
) -> list[Draft]:
    stmt = select(Draft).where(*filters, lanes.overdue)
    if key is not None:
        stmt = stmt.where(after(_BY_RANK, key))
    return list(session.scalars(stmt.order_by(*_ordering(_BY_RANK)).limit(n)))


def _rest(
    session: Session,
    lanes: _Lanes,
    filters: Sequence[ColumnElement[bool]],
    key: list[Any] | None,
    n: int,
) -> list[tuple[Draft, float]]:
    """The first `n` drafts after `key` of the settled and rising lanes, merged in priority
    order, each with its priority."""
    longest = session.scalar(select(func.max(Draft.target_ms)).where(DRAFT_IS_PENDING)) or 0
    by_priority = _by_priority(lanes)
    settled = select(Draft, lanes.priority).where(*filters, lanes.settled)
    rising = select(Draft, lanes.priority).where(*filters, lanes.rising(longest))
    if key is not None:
        # A settled draft's priority is its points plus every wait point: the bound on
        # its rank lets the index start there (one point over, for the float's rounding).
        least = -(math.floor((key[0] - WAIT_POINTS) * POINT_SCALE) + 1)
        settled = settled.where(Draft.queue_rank >= least, after(by_priority, key))
        rising = rising.where(after(by_priority, key))
    settled = settled.order_by(*_ordering(_BY_RANK)).limit(n)
    rising = rising.order_by(*_ordering(by_priority)).limit(n)
    merged = heapq.merge(
        [(draft, float(priority)) for draft, priority in session.execute(settled)],
        [(draft, float(priority)) for draft, priority in session.execute(rising)],
        key=lambda row: (-row[1], row[0].wait_since_ms, row[0].id),
    )
    return list(itertools.islice(merged, n))


def _queue_page(
    session: Session,
    settings: Settings,
    filters: Sequence[ColumnElement[bool]],
    limit: int,
    cursor: str | None,
    overdue_only: bool = False,
) -> tuple[list[Draft], str | None, int]:
    """One page of the pending drafts `filters` select, in queue order (only the overdue
    lane when `overdue_only`); with the next page's cursor and the moment the order was
    read at."""
    if cursor is None:
        as_of, lane, key = epoch_ms(utcnow()), _OVERDUE, None
    else:
        as_of, lane, *key = decode_cursor(cursor, _QUEUE_CURSOR)
        if lane == _OVERDUE and float(key[0]).is_integer():
            # Points are whole: compared as a float, the column would not be read by index.
            key[0] = int(key[0])
        elif lane != _REST:
            raise InvalidCursor("cursor: not a cursor this listing wrote")
    lanes = _Lanes(as_of, settings.time_scale)
    page: list[Draft] = []
    if lane == _OVERDUE:
        page = _overdue(session, lanes, filters, key, limit + 1)
        if len(page) > limit:
            last = page[limit - 1]
            return page[:limit], _cursor(as_of, _OVERDUE, last.queue_rank, last), as_of
        key = None
    if overdue_only:
        return page, None, as_of
    room = limit - len(page)
    rest = _rest(session, lanes, filters, key, room + 1)
    if room == 0:
        # The page ends on the last overdue draft: the next one starts the rest, if any.
        last = page[-1]
        return page, _cursor(as_of, _OVERDUE, last.queue_rank, last) if rest else None, as_of
    page += [draft for draft, _ in rest[:room]]
    if len(rest) > room:
        last, priority = rest[room - 1]
        return page, _cursor(as_of, _REST, priority, last), as_of
    return page, None, as_of


def _cursor(as_of: int, lane: int, key: float, last: Draft) -> str:
    return encode_cursor([as_of, lane, key, last.wait_since_ms, last.id])


def _filters(
    status: DraftStatus | None,
    account_id: int | None,
    blocked: bool | None,
    tier: SpendTier | None,
    kind: str | None,
) -> Sequence[ColumnElement[bool]]:
    clauses = []
    if status == DraftStatus.pending:
        clauses.append(DRAFT_IS_PENDING)
    elif status is not None:
        clauses.append(Draft.status == status)
    if account_id is not None:
        clauses.append(Draft.account_id == account_id)
    if blocked is not None:
        clauses.append(Draft.blocked.is_(blocked))
    if tier is not None:
        clauses.append(Draft.fan_tier == tier)
    if kind is not None:
        clauses.append(Draft.kind == kind)
    return clauses


def queue_version(session: Session) -> int:
    """A number that grows whenever the approval queue may have changed: the latest draft
    and the latest audit event about one (claimed, released, approved, rejected), added up
    (each only grows). Every process that changes a draft writes one or the other, so a
    console polling this sees them all."""
    latest_event = (
        select(func.max(AuditEvent.id)).where(AuditEvent.subject_type == "draft").scalar_subquery()
    )
    latest_draft = select(func.max(Draft.id)).scalar_subquery()
    total = session.scalar(select(func.coalesce(latest_event, 0) + func.coalesce(latest_draft, 0)))
    return int(total or 0)


def list_drafts(
    session: Session,
    settings: Settings,
    *,
    status: DraftStatus | None,
    account_id: int | None,
    limit: int,
    cursor: str | None = None,
    blocked: bool | None = None,
    tier: SpendTier | None = None,
    kind: str | None = None,
    overdue: bool = False,
) -> Page[QueuedDraft]:
    """Drafts with their standing, filtered by status, account, blocked, fan tier and kind,
    a page after `cursor`.

    Pending drafts come in queue order (`core.priority.order`: overdue fans first, then by
    priority); with `overdue`, only the replies past their account's response target: the
    conversations whose fan has waited too long. Any other listing is oldest first.
    """
    filters = _filters(status, account_id, blocked, tier, kind)
    stmt = select(Draft).where(*filters)
    if status != DraftStatus.pending:
        page = paginate(session, stmt, [SortKey(Draft.id)], limit=limit, cursor=cursor)
        now = epoch_ms(utcnow())
        items = [_queued(settings, draft, now) for draft in page.items]
        return Page(items=items, limit=limit, next_cursor=page.next_cursor)
    drafts, next_cursor, as_of = _queue_page(
        session, settings, filters, limit, cursor, overdue_only=overdue
    )
    items = [_queued(settings, draft, as_of) for draft in drafts]
    return Page(items=items, limit=limit, next_cursor=next_cursor)


def queued_draft(session: Session, settings: Settings, draft_id: int) -> QueuedDraft:
    """One draft with its standing, or `NotFound`."""
    draft = get_or_raise(session, Draft, draft_id)
    return _queued(settings, draft, epoch_ms(utcnow()))
