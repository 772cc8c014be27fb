"""Live updates for open console pages, by Server-Sent Events.

`/console/events` sends a `queue` event whenever the approval queue may have changed
(`core.review.queue_version`: a draft made, claimed, released or decided, by anyone, in
any process), and when a review claim runs out unreleased (`core.review.claims_ran_out`),
which changes no row; each page re-fetches the fragment it shows (htmx's SSE extension).
The stream polls the database every `POLL_S`, so a change shows within about that, and
ends when the browser goes or its session does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.console.auth import SESSION_COOKIE, NotSignedIn
from core import review
from core.clock import EARLIEST, LATEST, epoch_ms, from_epoch_ms, utcnow
from core.db import Database
from core.people import signed_in

router = APIRouter(prefix="/console", include_in_schema=False)

POLL_S = 0.4
# How often the stream checks that its session still holds, in polls (about 10 s).
SESSION_CHECK_POLLS = 25
# A comment line now and then keeps proxies from closing a quiet stream.
KEEPALIVE_POLLS = 40
EARLIEST_MS, LATEST_MS = epoch_ms(EARLIEST), epoch_ms(LATEST)


def stream_url(session: Session, as_of: datetime) -> str:
    """The event stream's address for a page showing the queue as it stood at `as_of`: a
    change, or a claim running out, between the page's render and the stream's start is
    told at once, not missed."""
    since = review.queue_version(session)
    return f"/console/events?{urlencode({'since': since, 'as_of': epoch_ms(as_of)})}"


@dataclass(frozen=True)
class _Reading:
    version: int
    at: datetime
    # A claim ran out since the last reading: the queue changed though no row did.
    claim_ran_out: bool


def _read(
    database: Database, token: str | None, check_session: bool, after: datetime
) -> _Reading | None:
    """The queue as a stream watches it since `after`, or None when the session no longer
    holds."""
    with database.session() as session:
        if check_session and signed_in(session, token) is None:
            return None
        at = utcnow()
        ran_out = review.claims_ran_out(session, after, at)
        return _Reading(review.queue_version(session), at, ran_out)


async def _events(
    request: Request, database: Database, token: str | None, since: int | None, as_of: datetime
) -> AsyncIterator[str]:
    seen, after = since, as_of
    polls = 0
    while not await request.is_disconnected():
        check_session = polls % SESSION_CHECK_POLLS == 0
        reading = await run_in_threadpool(_read, database, token, check_session, after)
        if reading is None:
            yield "event: signed-out\ndata: \n\n"
            return
        if seen is not None and (reading.version != seen or reading.claim_ran_out):
            yield f"event: queue\ndata: {reading.version}\n\n"
        elif polls % KEEPALIVE_POLLS == 0:
            yield ": still here\n\n"
        seen, after = reading.version, reading.at
        polls += 1
        await asyncio.sleep(POLL_S)


@router.get("/events")
def events(
    request: Request,
    since: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    as_of: Annotated[int | None, Query(ge=EARLIEST_MS, le=LATEST_MS)] = None,
) -> StreamingResponse:
    """The console's event stream (text/event-stream). `since` is the queue's version the
    page was rendered at and `as_of` the moment it shows (epoch ms; `stream_url`): what
    changed between the render and the stream's start is told at once, not missed. The
    session is read here and by the stream in sessions of their own: a request's database
    session would stay open, and on SQLite hold the write lock, for as long as the page
    does."""
    database: Database = request.app.state.database
    token = request.cookies.get(SESSION_COOKIE)
    now = utcnow()
    if _read(database, token, True, now) is None:
        raise NotSignedIn
    # A millisecond early: `epoch_ms` rounds, and a claim told twice does no harm.
    start = now if as_of is None else min(from_epoch_ms(as_of - 1), now)
    return StreamingResponse(
        _events(request, database, token, since, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
