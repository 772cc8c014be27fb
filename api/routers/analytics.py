"""`/v1/analytics`: how AI drafting fares, what fans paid, and how each operator performs,
for operators and admins."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse

from api.deps import AccountFilter, AdminDep, SessionDep, SettingsDep, StaffDep, query_time
from api.errors import invalid
from api.schemas.analytics import AiAnalytics, OperatorsOut, RevenueOut
from api.streams import CSV_RESPONSE, csv_response
from core.analytics import Window
from core.analytics import ai as ai_analytics
from core.analytics import operators as operator_analytics
from core.analytics import revenue as revenue_analytics
from core.clock import utcnow
from core.crm.csv_cells import csv_chunks

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

DEFAULT_DAYS = 7
MAX_DAYS = 366


def _invalid(field: str, message: str) -> RequestValidationError:
    return invalid(message, "query", field)


def analytics_window(
    account_id: AccountFilter = None,
    days: Annotated[
        int | None,
        Query(ge=1, le=MAX_DAYS, description="The last this many days, up to now."),
    ] = None,
    since: Annotated[
        datetime | None,
        Query(description="Start (inclusive), ISO 8601; no time zone means UTC."),
    ] = None,
    until: Annotated[
        datetime | None,
        Query(description="End (exclusive), ISO 8601; no time zone means UTC. Default: now."),
    ] = None,
) -> Window:
    """The window asked for: `days` up to now, or `since`/`until` (each defaulting to
    `DEFAULT_DAYS` before the other, and now), at most `MAX_DAYS` long."""
    if days is not None and (since is not None or until is not None):
        raise _invalid("days", "give either days or since/until, not both")
    since, until = query_time("since", since), query_time("until", until)
    end = utcnow() if until is None else until
    start = end - timedelta(days=days or DEFAULT_DAYS) if since is None else since
    if start >= end:
        raise _invalid("since", "since must be before until")
    if end - start > timedelta(days=MAX_DAYS):
        raise _invalid("since", f"the window is at most {MAX_DAYS} days long")
    return Window(since=start, until=end, account_id=account_id)


WindowDep = Annotated[Window, Depends(analytics_window)]


@router.get("/ai", response_model=AiAnalytics)
def ai(
    window: WindowDep,
    session: SessionDep,
    settings: SettingsDep,
    _principal: StaffDep,
) -> AiAnalytics:
    """Approval, modification, rejection and auto-send rates of the window's drafts,
    their average confidence, content filter hits by rule and wellbeing guard flags,
    tokens per UTC day with a cost estimate, and the median and 95th percentile of the
    time from a fan's message to the approved send (and to its delivery). Default window:
    the last 7 days; `account_id` narrows it to one account."""
    return AiAnalytics.of(ai_analytics.report(session, window), settings)


@router.get("/revenue", response_model=RevenueOut)
def revenue(window: WindowDep, session: SessionDep, _principal: StaffDep) -> RevenueOut:
    """Tips and PPV sales per account per UTC day (a PPV counts on the day it was paid),
    and how the PPV offers sent in the window converted, by price band and by the fan's
    spend tier. Default window: the last 7 days."""
    return RevenueOut.of(revenue_analytics.report(session, window))


@router.get("/revenue/export", response_class=StreamingResponse, responses=CSV_RESPONSE)
def revenue_csv(window: WindowDep, session: SessionDep, _principal: AdminDep) -> StreamingResponse:
    """The revenue per account per UTC day as CSV."""
    days = revenue_analytics.revenue_by_day(session, window)
    rows = [
        [d.day.isoformat(), d.account_id, d.tips, d.tips_cents, d.ppv_sold, d.ppv_cents]
        for d in days
    ]
    header = ["day", "account_id", "tips", "tips_cents", "ppv_sold", "ppv_cents"]
    return csv_response(csv_chunks(header, [rows]), "revenue.csv")


@router.get("/operators", response_model=OperatorsOut)
def operators(window: WindowDep, session: SessionDep, _principal: StaffDep) -> OperatorsOut:
    """Per operator: drafts decided, edit rate, time to decide and first response time
    (p50, p90), and the PPV revenue of what they sent; and the sends delivered by who wrote
    them (AI unchanged, AI edited, a person) with their revenue per message. Default
    window: the last 7 days."""
    return OperatorsOut.of(operator_analytics.report(session, window))
