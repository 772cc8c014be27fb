"""CSV exports of fans and sends, streamed: a batch of rows is read, written out and let
go before the next is read, so 100,000 fans never sit in memory at once.

Each batch is its own short read (its own session), keyed by id, and the request's own
read ends before the stream starts: a stream the client reads slowly holds no transaction
(on SQLite every transaction holds the write lock, which the next batch would wait for),
and rows changed while it runs are read as they are when their batch comes. The fans' file is the
one `core.crm.fan_import` reads back: its custom fields are a `custom.NAME` column each,
named up front from the fans the filter selects, and text cells are guarded against
spreadsheet formulas (`core.crm.csv_cells`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, cast, func, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from core.crm.csv_cells import CUSTOM_PREFIX, TAG_SEPARATOR, csv_chunks, guard
from core.crm.fan_list import FanFilter, fan_conditions, select_fans
from core.db import Database, end_read
from core.enums import SendStatus
from core.models import Conversation, Fan, Send

BATCH = 1000
FAN_COLUMNS = (
    "id",
    "account_id",
    "platform_fan_id",
    "handle",
    "name",
    "tier",
    "total_spend_cents",
    "last_active_at",
    "tags",
    "notes",
)
SEND_COLUMNS = (
    "id",
    "account_id",
    "conversation_id",
    "fan_id",
    "draft_id",
    "status",
    "priority",
    "ppv_price_cents",
    "attempt",
    "created_by",
    "created_at",
    "delivered_at",
    "platform_message_id",
)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def custom_field_names(session: Session, fan_filter: FanFilter) -> list[str]:
    """The custom fields any fan `fan_filter` selects holds, sorted."""
    dialect = session.get_bind().dialect.name
    where = fan_conditions(fan_filter, dialect)
    if dialect == "postgresql":
        key = func.jsonb_object_keys(cast(Fan.custom_fields, JSONB))
        stmt = select(key).where(*where)
    else:
        each = func.json_each(Fan.custom_fields).table_valued("key")
        stmt = select(each.c.key).select_from(Fan).join(each, true()).where(*where)
    return sorted({str(name) for name in session.scalars(stmt.distinct())})


def _batches(
    database: Database, stmt: Select[Any], id_column: Any, shape: Callable[[Any], Sequence[object]]
) -> Iterator[list[Sequence[object]]]:
    """`stmt`'s rows (an entity with an id first) in id order, `BATCH` per read, each
    shaped into a CSV row."""
    last = 0
    while True:
        with database.session() as session:
            rows = session.execute(
                stmt.where(id_column > last).order_by(id_column).limit(BATCH)
            ).all()
            batch = [shape(row) for row in rows]
        if not batch:
            return
        yield batch
        last = rows[-1][0].id


def _fan_row(fan: Fan, custom: Sequence[str]) -> list[object]:
    values = fan.custom_fields
    return [
        fan.id,
        fan.account_id,
        guard(fan.platform_fan_id),
        guard(fan.handle or ""),
        guard(fan.name),
        fan.tier.value,
        fan.total_spend_cents,
        _iso(fan.last_active_at),
        guard(TAG_SEPARATOR.join(fan.tags)),
        guard(fan.notes),
        *(guard(str(values[name])) if name in values else None for name in custom),
    ]


def export_fans(session: Session, database: Database, fan_filter: FanFilter) -> Iterator[str]:
    """The CSV of the fans `fan_filter` selects, in id order, a chunk per batch. `session`
    names the columns, and its read ends before the stream starts."""
    custom = custom_field_names(session, fan_filter)
    stmt = select_fans(session, fan_filter)
    end_read(session)
    header = [*FAN_COLUMNS, *(CUSTOM_PREFIX + name for name in custom)]
    batches = _batches(database, stmt, Fan.id, lambda row: _fan_row(row[0], custom))
    return csv_chunks(header, batches)


def _send_row(row: Any) -> list[object]:
    send, fan_id = row
    return [
        send.id,
        send.account_id,
        send.conversation_id,
        fan_id,
        send.draft_id,
        send.status.value,
        send.priority.value,
        send.ppv_price_cents,
        send.attempt,
        guard(send.created_by),
        _iso(send.created_at),
        _iso(send.delivered_at),
        send.platform_message_id,
    ]


def export_sends(
    session: Session,
    database: Database,
    *,
    account_id: int | None = None,
    status: SendStatus | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[str]:
    """The CSV of the sends made in `[since, until)` (of one account, in one status), in
    id order: who made each and what became of it; no message text. `session`'s read ends
    before the stream starts."""
    end_read(session)
    stmt = select(Send, Conversation.fan_id).join(
        Conversation, Send.conversation_id == Conversation.id
    )
    if account_id is not None:
        stmt = stmt.where(Send.account_id == account_id)
    if status is not None:
        stmt = stmt.where(Send.status == status)
    if since is not None:
        stmt = stmt.where(Send.created_at >= since)
    if until is not None:
        stmt = stmt.where(Send.created_at < until)
    return csv_chunks(SEND_COLUMNS, _batches(database, stmt, Send.id, _send_row))
