"""`/v1/fans`: the CRM's fans. Operators list, read and annotate them (tags, notes,
custom fields); admins export them as CSV and exercise a fan's data rights (export of
everything held, erasure). A CSV import is `api.routers.imports`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from api.deps import (
    AccountFilter,
    AdminDep,
    CursorQuery,
    DatabaseDep,
    FanSortQuery,
    IdPath,
    LimitQuery,
    SessionDep,
    StaffDep,
)
from api.errors import invalid
from api.schemas.common import PageOut, page_out
from api.schemas.conversations import FanOut
from api.schemas.fans import ErasureOut, FanDetailOut, FanExport
from api.streams import CSV_RESPONSE, csv_response
from core.bounds import MAX_INT32
from core.crm import (
    FanChanges,
    FanFilter,
    FanLimitExceeded,
    FanSort,
    erase_fan,
    export_fan,
    export_fans,
    fan_detail,
    list_fans,
    update_fan,
)
from core.crm.fan_detail import MAX_DAYS
from core.crm.fan_edits import TAG_MAX_CHARS
from core.crm.fan_list import MAX_FILTER_TAGS, SEARCH_MAX_CHARS
from core.drafting.fan import SpendTier

router = APIRouter(prefix="/v1/fans", tags=["fans"])


def fan_filter(
    account_id: AccountFilter = None,
    tier: Annotated[SpendTier | None, Query(description="Only fans of this spend tier.")] = None,
    min_spend_cents: Annotated[
        int | None, Query(ge=0, le=MAX_INT32, description="Total spend at least this.")
    ] = None,
    max_spend_cents: Annotated[
        int | None, Query(ge=0, le=MAX_INT32, description="Total spend at most this.")
    ] = None,
    active_since: Annotated[
        datetime | None, Query(description="Wrote to us at or after this time (ISO 8601).")
    ] = None,
    active_before: Annotated[
        datetime | None,
        Query(description="Has not written since this time, or never has (ISO 8601)."),
    ] = None,
    tags: Annotated[
        list[Annotated[str, Query(max_length=MAX_FILTER_TAGS * (TAG_MAX_CHARS + 1))]] | None,
        Query(
            max_length=MAX_FILTER_TAGS,
            description="Holds every tag given: repeat the parameter, or split by commas.",
        ),
    ] = None,
    has_unpaid_ppv: Annotated[
        bool | None, Query(description="Was sent a PPV they have not bought (false: none).")
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=SEARCH_MAX_CHARS,
            description="Text in the fan's name, handle or platform id (any case).",
        ),
    ] = None,
) -> FanFilter:
    """The filter the query asks for; a 422 naming the parameter when it holds wrong."""
    given = {
        "account_id": account_id,
        "tier": tier,
        "min_spend_cents": min_spend_cents,
        "max_spend_cents": max_spend_cents,
        "active_since": active_since,
        "active_before": active_before,
        "tags": [tag for value in tags or [] for tag in value.split(",")],
        "has_unpaid_ppv": has_unpaid_ppv,
        "q": q,
    }
    try:
        return FanFilter.model_validate({k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        error = exc.errors()[0]
        raise invalid(error["msg"], "query", *map(str, error["loc"])) from None


FanFilterDep = Annotated[FanFilter, Depends(fan_filter)]


@router.get("", response_model=PageOut[FanOut])
def list_(
    fans: FanFilterDep,
    session: SessionDep,
    _principal: StaffDep,
    sort: FanSortQuery = FanSort.spend,
    limit: LimitQuery = 50,
    cursor: CursorQuery = None,
) -> PageOut[FanOut]:
    """Fans matching every filter given, biggest spenders (or the most recently active)
    first. A cursor belongs to its sort: pass the same `sort` with it."""
    page = list_fans(session, fans, sort=sort, limit=limit, cursor=cursor)
    return page_out(page, FanOut.model_validate)


@router.get("/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def export_csv(
    fans: FanFilterDep, session: SessionDep, database: DatabaseDep, _principal: AdminDep
) -> StreamingResponse:
    """The fans matching the filters as CSV, streamed in id order: the file an import
    reads back (custom fields as `custom.NAME` columns; cells a spreadsheet would run as a
    formula start with `'`)."""
    return csv_response(export_fans(session, database, fans), "fans.csv")


@router.get("/{fan_id:int}", response_model=FanDetailOut)
def get(
    fan_id: IdPath,
    session: SessionDep,
    _principal: StaffDep,
    days: Annotated[
        int, Query(ge=1, le=MAX_DAYS, description="Spend by day over this many UTC days.")
    ] = 30,
) -> FanDetailOut:
    """A fan with their conversations, latest messages, purchases and tips, and what they
    spent on each of the last `days` UTC days."""
    return FanDetailOut.of(fan_detail(session, fan_id, days=days))


@router.patch("/{fan_id:int}", response_model=FanOut)
def update(fan_id: IdPath, body: FanChanges, session: SessionDep, principal: StaffDep) -> FanOut:
    """Tag the fan, write their notes, set custom fields. `tags` replaces the fan's tags;
    `add_tags` and `remove_tags` change only those; a custom field set to null is removed.
    Tags and notes reach the drafter's prompt. Audited, with the tags and field names
    changed (never the notes' text)."""
    if body.empty:
        raise invalid(
            "nothing to change: give tags, add_tags, remove_tags, notes or custom_fields", "body"
        )
    try:
        fan = update_fan(session, fan_id, body, actor=principal.name)
    except FanLimitExceeded as exc:
        raise invalid(str(exc), "body", exc.field) from None
    return FanOut.model_validate(fan)


@router.get("/{fan_id:int}/export", response_model=FanExport)
def export(fan_id: IdPath, session: SessionDep, _principal: AdminDep) -> FanExport:
    """Everything held about the fan, as JSON: their details, conversations and messages,
    the drafts written for them, the sends to them and the audit entries about them."""
    return FanExport.model_validate(export_fan(session, fan_id))


@router.delete("/{fan_id:int}", response_model=ErasureOut)
def erase(fan_id: IdPath, session: SessionDep, principal: AdminDep) -> ErasureOut:
    """Erase the fan's data at their request: the text of their messages, of the drafts
    and sends for them, their name, handle, tags, notes and custom fields, and the details
    of the audit entries about them. Amounts stay. Sends waiting for them are cancelled,
    and nothing is stored, drafted or sent for them again. A send being typed to them
    right now is a 409."""
    return ErasureOut.model_validate(erase_fan(session, fan_id, actor=principal.name))
