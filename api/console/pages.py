"""The console's pages: sign-in, sign-out and the approval queue.

Pages are rendered on the server (Jinja2, autoescaped); a form posts and is answered with a
redirect (303), so a reload never posts twice. A request without a live session is sent
to the sign-in page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from api.console.auth import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    PersonDep,
    client_address,
    require_csrf,
    same_token,
    set_cookie,
    sign_in_token,
)
from api.console.live import stream_url
from api.deps import RedisDep, SessionDep, SettingsDep
from api.schemas.drafts import QueuedDraftOut
from core import review
from core.clock import utcnow
from core.drafting.fan import SpendTier
from core.enums import DraftKind, DraftStatus
from core.errors import MAX_ID
from core.people import SignedIn, SignInRefused, TooManySignIns, end_session, sign_in
from core.settings import Settings

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")


def waited(seconds: float) -> str:
    """A wait as a person reads it: minutes, then hours and minutes, then days and hours
    (`static/keys.js` counts it up the same way)."""
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} d {minutes // 60 % 24} h"


templates.env.filters["waited"] = waited
router = APIRouter(prefix="/console", include_in_schema=False)

QUEUE_PAGE = 50
# As many drafts as `POST /v1/drafts/approve` takes at once.
BULK_MAX = 100
# The sign-in form's token lives as long as someone may leave the page open.
SIGN_IN_TOKEN_S = 3_600


def _sign_in_page(
    request: Request, token: str, error: str | None = None, code: int = status.HTTP_200_OK
) -> Response:
    response = templates.TemplateResponse(
        request, "sign_in.html", {"csrf": token, "error": error}, status_code=code
    )
    settings = request.app.state.settings
    set_cookie(response, settings, SIGN_IN_COOKIE, token, SIGN_IN_TOKEN_S)
    return response


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request) -> Response:
    """The sign-in page."""
    return _sign_in_page(request, sign_in_token(request))


@router.post("/sign-in", response_class=HTMLResponse)
def sign_in_submit(
    request: Request,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1_000)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Sign in: to the queue with a session cookie, or back to the form saying why."""
    token = sign_in_token(request)
    if not same_token(request.cookies.get(SIGN_IN_COOKIE), csrf):
        return _sign_in_page(
            request, token, "csrf: the form was stale; try again", status.HTTP_403_FORBIDDEN
        )
    if not name.strip() or not password:
        missing = "name" if not name.strip() else "password"
        return _sign_in_page(request, token, f"{missing}: required", status.HTTP_400_BAD_REQUEST)
    try:
        opened = sign_in(session, redis, settings, name, password, client_address(request))
    except TooManySignIns as exc:
        return _sign_in_page(request, token, str(exc), status.HTTP_429_TOO_MANY_REQUESTS)
    except SignInRefused as exc:
        return _sign_in_page(request, token, str(exc), status.HTTP_401_UNAUTHORIZED)
    response = RedirectResponse("/console", status_code=status.HTTP_303_SEE_OTHER)
    set_cookie(response, settings, SESSION_COOKIE, opened.token, round(settings.console_session_s))
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
def sign_out(
    request: Request,
    session: SessionDep,
    person: PersonDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Sign out: the session ends on the server, and its cookie is cleared."""
    require_csrf(person, csrf)
    end_session(session, request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/console/sign-in", status_code=status.HTTP_303_SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


def _queue_context(
    session: Session,
    settings: Settings,
    account_id: int | None,
    tier: SpendTier | None,
    kind: DraftKind | None,
) -> dict[str, Any]:
    """What the queue's rows show, filtered, and the event stream to follow them by (its
    address read first: a change after it is told to the page)."""
    now = utcnow()
    events = stream_url(session, now)
    page = review.list_drafts(
        session,
        settings,
        status=DraftStatus.pending,
        account_id=account_id,
        tier=tier,
        kind=kind,
        limit=QUEUE_PAGE,
    )
    filters = {"account_id": account_id, "tier": tier, "kind": kind}
    return {
        "rows": [QueuedDraftOut.of(queued) for queued in page.items],
        "more": page.next_cursor is not None,
        "filters": filters,
        "query": urlencode({k: v for k, v in filters.items() if v is not None}),
        "events": events,
    }


AccountQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]


@router.get("", response_class=HTMLResponse)
def queue(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    person: PersonDep,
    account_id: AccountQuery = None,
    tier: SpendTier | None = None,
    kind: DraftKind | None = None,
) -> Response:
    """The approval queue, in priority order, filterable by account, tier and kind; its
    rows follow every change live."""
    return _queue_page(request, session, settings, person, account_id, tier, kind)


def _queue_page(
    request: Request,
    session: Session,
    settings: Settings,
    person: SignedIn,
    account_id: int | None = None,
    tier: SpendTier | None = None,
    kind: DraftKind | None = None,
    *,
    outcome: dict[str, Any] | None = None,
    code: int = status.HTTP_200_OK,
) -> Response:
    context: dict[str, Any] = {
        "person": person.principal,
        "csrf": person.csrf_token,
        "tiers": list(SpendTier),
        "kinds": list(DraftKind),
        "outcome": outcome,
        **_queue_context(session, settings, account_id, tier, kind),
    }
    return templates.TemplateResponse(request, "queue.html", context, status_code=code)


@router.post("/approve", response_class=HTMLResponse)
def approve_selected(
    request: Request,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    person: PersonDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    ids: Annotated[list[int] | None, Form(max_length=BULK_MAX)] = None,
) -> Response:
    """Approve the selected drafts as written, each through the send gate; the queue
    comes back saying what went and what was skipped, and why."""
    require_csrf(person, csrf)
    if not ids:
        outcome: dict[str, Any] = {"problem": "ids: select at least one draft"}
        return _queue_page(
            request, session, settings, person, outcome=outcome,
            code=status.HTTP_400_BAD_REQUEST,
        )  # fmt: skip
    chosen = [i for i in dict.fromkeys(ids) if 1 <= i <= MAX_ID]
    results = review.approve_many(session, redis, settings, chosen, actor=person.principal.name)
    outcome = {
        "approved": sum(result.send_id is not None for result in results),
        "skipped": [(r.draft_id, r.skipped) for r in results if r.skipped is not None],
    }
    return _queue_page(request, session, settings, person, outcome=outcome)


@router.get("/queue/rows", response_class=HTMLResponse)
def queue_rows(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    _person: PersonDep,
    account_id: AccountQuery = None,
    tier: SpendTier | None = None,
    kind: DraftKind | None = None,
) -> Response:
    """The queue's rows alone, as the open queue page re-fetches them."""
    context = _queue_context(session, settings, account_id, tier, kind)
    return templates.TemplateResponse(request, "_rows.html", context)
