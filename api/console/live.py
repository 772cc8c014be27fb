"""Live updates for open console pages, by Server-Sent Events.

A stream watches something (`Watch`) every few tenths of a second in a database session
of its own, and tells the page when it changed; it ends when the browser goes, or with a
`signed-out` event when the session does, or at once when a request comes without one
(`static/keys.js` then goes to the sign-in page).

`/console/events` sends a `queue` event whenever the approval queue may have changed
(`core.review.queue_version`: a draft made, claimed, released or decided, by anyone, in
any process), and when a review claim runs out unreleased (`core.review.claims_ran_out`),
which changes no row; each page re-fetches the fragment it shows (htmx's SSE extension).
The fleet page's stream (`api.console.fleet`) sends the fragment itself.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Final, Protocol
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.console.auth import SESSION_COOKIE
from core import review
from core.clock import EARLIEST, LATEST, epoch_ms, from_epoch_ms, utcnow
from core.db import Database
from core.people import SignedIn, signed_in

router = APIRouter(prefix="/console", include_in_schema=False)

POLL_S = 0.4
# How often a stream checks that its session still holds, and sends a comment line now
# and then so that proxies do not close a quiet stream.
SESSION_CHECK_S = 10.0
KEEPALIVE_S = 16.0
EARLIEST_MS, LATEST_MS = epoch_ms(EARLIEST), epoch_ms(LATEST)
SIGNED_OUT: Final = "event: signed-out\ndata: \n\n"
# What ends a line in an event stream: each line of a message's data gets its own field.
_LINE_END = re.compile(r"\r\n|\r|\n")


class Watch(Protocol):
    """What a stream watches."""

    def look(self, session: Session) -> str | None:
        """The event to send (`message`) if what is watched changed since the last look,
        else None."""
        ...


def message(event: str, data: str) -> str:
    """An event-stream message of `event` carrying `data`, lines and all."""
    lines = "".join(f"data: {line}\n" for line in _LINE_END.split(data))
    return f"event: {event}\n{lines}\n"


def _look(database: Database, token: str | None, check_session: bool, watch: Watch) -> str | None:
    with database.session() as session:
        if check_session and signed_in(session, token) is None:
            return SIGNED_OUT
        return watch.look(session)


async def _events(request: Request, watch: Watch, poll_s: float) -> AsyncIterator[str]:
    database: Database = request.app.state.database
    token = request.cookies.get(SESSION_COOKIE)
    check_every = max(1, round(SESSION_CHECK_S / poll_s))
    keepalive_every = max(1, round(KEEPALIVE_S / poll_s))
    polls = 0
    while not await request.is_disconnected():
        event = await run_in_threadpool(_look, database, token, polls % check_every == 0, watch)
        if event is not None:
            yield event
            if event == SIGNED_OUT:
                return
        elif polls % keepalive_every == 0:
            yield ": still here\n\n"
        polls += 1
        await asyncio.sleep(poll_s)


async def _signed_out() -> AsyncIterator[str]:
    yield SIGNED_OUT


def event_stream(
    request: Request, watch: Callable[[SignedIn], Watch], poll_s: float = POLL_S
) -> StreamingResponse:
    """The response streaming the events of what `watch` makes for the request's signed-in
    person, looking every `poll_s`. Without a session, the stream is one `signed-out`
    event: a stream refused by a redirect would only be retried by the browser, and its
    page would stay on, no longer changing."""
    database: Database = request.app.state.database
    # A session of its own: a request's database session would stay open, and on SQLite
    # hold the write lock, for as long as the stream does.
    with database.session() as session:
        person = signed_in(session, request.cookies.get(SESSION_COOKIE))
    events = _signed_out() if person is None else _events(request, watch(person), poll_s)
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def stream_url(session: Session, as_of: datetime) -> str:
    """The queue's event stream's address for a page showing the queue as it stood at
    `as_of`: a change, or a claim running out, between the page's render and the stream's
    start is told at once, not missed."""
    since = review.queue_version(session)
    return f"/console/events?{urlencode({'since': since, 'as_of': epoch_ms(as_of)})}"


@dataclass
class _QueueWatch:
    """The approval queue, as of version `seen` and moment `after`."""

    seen: int | None
    after: datetime

    def look(self, session: Session) -> str | None:
        at = utcnow()
        # A claim ran out since the last look: the queue changed though no row did.
        ran_out = review.claims_ran_out(session, self.after, at)
        version = review.queue_version(session)
        changed = self.seen is not None and (version != self.seen or ran_out)
        self.seen, self.after = version, at
        return message("queue", str(version)) if changed else None


@router.get("/events")
def events(
    request: Request,
    since: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    as_of: Annotated[int | None, Query(ge=EARLIEST_MS, le=LATEST_MS)] = None,
) -> StreamingResponse:
    """The queue's event stream (text/event-stream). `since` is the queue's version the
    page was rendered at and `as_of` the moment it shows (epoch ms; `stream_url`): what
    changed between the render and the stream's start is told at once, not missed."""
    now = utcnow()
    # A millisecond early: `epoch_ms` rounds, and a claim told twice does no harm.
    start = now if as_of is None else min(from_epoch_ms(as_of - 1), now)
    return event_stream(request, lambda _person: _QueueWatch(since, start))
