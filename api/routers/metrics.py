"""`/metrics`: the fleet's metrics in Prometheus's text format, for any key holder (give
Prometheus a key of its own: `fleet keys create --role operator --name prometheus`, used
as its scrape config's bearer token)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep, SessionDep

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text."}},
)
async def metrics(request: Request, session: SessionDep, _principal: PrincipalDep) -> Response:
    """Queue depths and the oldest job's age per queue, sends by status, deliveries,
    drafts pending and the oldest wait, workers' and Chromium's memory, LLM tokens,
    throttle events, and histograms of job durations by kind and of pacer waits."""
    # The key is checked; the collector reads in its own session (SQLite lets one
    # transaction at a time hold the database).
    session.rollback()
    # It reads the database and Redis: off the event loop.
    body = await run_in_threadpool(generate_latest, request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
