"""`/v1/analytics`: how AI drafting fares, for operators and admins."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.exceptions import RequestValidationError

from api.deps import AccountFilter, SessionDep, SettingsDep, StaffDep, query_time
from api.errors import invalid
from api.schemas.analytics import AiAnalytics
from core.analytics import ai as ai_analytics
from core.clock import utcnow

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
) -> ai_analytics.Window:
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
    return ai_analytics.Window(since=start, until=end, account_id=account_id)


@router.get("/ai", response_model=AiAnalytics)
def ai(
    window: Annotated[ai_analytics.Window, Depends(analytics_window)],
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
