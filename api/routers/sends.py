"""`/v1/sends`: the outbox, and messages operators write directly."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import StreamingResponse

from api.deps import (
    AccountFilter,
    AdminDep,
    CursorQuery,
    DatabaseDep,
    IdPath,
    LimitQuery,
    RedisDep,
    SessionDep,
    SettingsDep,
    StaffDep,
    query_time,
)
from api.schemas.common import PageOut, page_out
from api.schemas.fleet import SendRequeue
from api.schemas.sends import BulkSendCreate, BulkSendsOut, SendCreate, SendOut
from api.streams import CSV_RESPONSE, csv_response
from core.crm import export_sends
from core.enums import SendStatus
from core.outbox import bulk, sends

router = APIRouter(prefix="/v1/sends", tags=["sends"])


@router.get("", response_model=PageOut[SendOut])
def list_sends(
    session: SessionDep,
    _principal: StaffDep,
    status: SendStatus | None = None,
    account_id: AccountFilter = None,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[SendOut]:
    """Sends, newest first, optionally in one status."""
    page = sends.list_sends(
        session, status=status, account_id=account_id, limit=limit, cursor=cursor
    )
    return page_out(page, SendOut.model_validate)


@router.get("/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_csv(
    session: SessionDep,
    database: DatabaseDep,
    _principal: AdminDep,
    status: SendStatus | None = None,
    account_id: AccountFilter = None,
    since: Annotated[
        datetime | None, Query(description="Made at or after this time (ISO 8601).")
    ] = None,
    until: Annotated[
        datetime | None, Query(description="Made before this time (ISO 8601).")
    ] = None,
) -> StreamingResponse:
    """Sends as CSV, streamed in id order: who made each, its price, what became of it
    and when. No message text."""
    chunks = export_sends(
        session,
        database,
        account_id=account_id,
        status=status,
        since=query_time("since", since),
        until=query_time("until", until),
    )
    return csv_response(chunks, "sends.csv")


@router.get("/{send_id:int}", response_model=SendOut)
def get_send(send_id: IdPath, session: SessionDep, _principal: StaffDep) -> SendOut:
    """One send."""
    return SendOut.model_validate(sends.get_send(session, send_id))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SendOut)
def create_send(
    body: SendCreate,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> SendOut:
    """Queue a message written by the operator into a conversation. It passes the gate:
    text the content filter holds (contact details, off-platform payment, meeting up,
    signs of a minor), a fan the wellbeing guard flags, or a PPV past the fan's daily spend
    cap answers 409 naming the rules in `reasons`, unless an admin sends `override: true`
    with an `override_reason` (audited); anyone else asking to override gets 403."""
    send = sends.create_direct_send(
        session,
        redis,
        settings,
        conversation_id=body.conversation_id,
        text=body.text,
        ppv_price_cents=body.ppv_price_cents,
        media=tuple(body.media),
        actor=principal.name,
        override=body.override_by(principal),
    )
    return SendOut.model_validate(send)


@router.post("/bulk", status_code=status.HTTP_201_CREATED, response_model=BulkSendsOut)
def create_bulk_sends(
    body: BulkSendCreate,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> BulkSendsOut:
    """Send one message to many conversations; replies and direct sends still go first.
    Each conversation passes the gate: one it refuses (the content filter, the wellbeing
    guard, a PPV past the fan's daily spend cap) gets no send, and `skipped` lists it with
    the rules that fired. Nothing is overridden in bulk."""
    created = bulk.create_bulk_sends(
        session,
        redis,
        settings,
        conversation_ids=body.conversation_ids,
        text=body.text,
        ppv_price_cents=body.ppv_price_cents,
        media=tuple(body.media),
        actor=principal.name,
    )
    return BulkSendsOut.of(created)


@router.post("/requeue", response_model=list[SendOut])
def requeue_sends(
    body: SendRequeue,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> list[SendOut]:
    """Queue failed sends (`GET /v1/sends?status=failed`) again with fresh attempts; 409,
    changing nothing, when any of them is not failed."""
    requeued = sends.requeue_sends(session, redis, settings, body.ids, actor=principal.name)
    return [SendOut.model_validate(send) for send in requeued]


@router.post("/{send_id:int}/cancel", response_model=SendOut)
def cancel_send(
    send_id: IdPath,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: StaffDep,
) -> SendOut:
    """Call off a queued or claimed send; 409 once it is typing or finished."""
    return SendOut.model_validate(
        sends.cancel_send(session, redis, settings, send_id, actor=principal.name)
    )
