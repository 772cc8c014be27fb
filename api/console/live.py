"""Live updates for open console pages, by Server-Sent Events.

`/console/events` sends a `queue` event whenever the approval queue may have changed
(`core.review.queue_version`: a draft made, claimed, released or decided, by anyone, in
any process); each page re-fetches the fragment it shows (htmx's SSE extension). The
stream polls the database every `POLL_S`, so a change shows within about that, and ends
when the browser goes or its session does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.console.auth import SESSION_COOKIE, NotSignedIn
from core import review
from core.db import Database
from core.people import signed_in

router = APIRouter(prefix="/console", include_in_schema=False)

POLL_S = 0.4
# How often the stream checks that its session still holds, in polls (about 10 s).
SESSION_CHECK_POLLS = 25
# A comment line now and then keeps proxies from closing a quiet stream.
KEEPALIVE_POLLS = 40


def _read(database: Database, token: str | None, check_session: bool) -> int | None:
    """The queue's version, or None when the session no longer holds."""
    with database.session() as session:
        if check_session and signed_in(session, token) is None:
            return None
        return review.queue_version(session)


async def _events(
    request: Request, database: Database, token: str | None, since: int | None
) -> AsyncIterator[str]:
    seen = since
    polls = 0
    while not await request.is_disconnected():
        version = await run_in_threadpool(_read, database, token, polls % SESSION_CHECK_POLLS == 0)
        if version is None:
            yield "event: signed-out\ndata: \n\n"
            return
        if seen is not None and version != seen:
            yield f"event: queue\ndata: {version}\n\n"
        elif polls % KEEPALIVE_POLLS == 0:
            yield ": still here\n\n"
        seen = version
        polls += 1
        await asyncio.sleep(POLL_S)


@router.get("/events")
def events(
    request: Request, since: Annotated[int | None, Query(ge=0, le=2**62)] = None
) -> StreamingResponse:
    """The console's event stream (text/event-stream). `since` is the queue's version the
    page was rendered at: a change made between the render and the stream's start is told
    at once, not missed. The session is read here and by the stream in sessions of their
    own: a request's database session would stay open, and on SQLite hold the write lock,
    for as long as the page does."""
    database: Database = request.app.state.database
    token = request.cookies.get(SESSION_COOKIE)
    if _read(database, token, check_session=True) is None:
        raise NotSignedIn
    return StreamingResponse(
        _events(request, database, token, since),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
