"""The console's fleet page: what `/v1/fleet` says (workers and the accounts they hold,
queue depths and oldest jobs, sends by status, throttled accounts, why the fleet is
unhealthy), the accounts held for an operator, and the dead letters, kept live by an event
stream that sends the page's body whenever it reads differently (one reading of the fleet
shared by every open page, `shared_reading`). Admins resume a paused account and give a
`needs_login` account its credentials; anyone staffing the queue requeues dead letters.
Each action goes through `core` as the API's does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol, cast

from cachetools import TTLCache, cached
from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from api.console.auth import PersonDep, require_csrf
from api.console.live import event_stream, message
from api.console.pages import templates
from api.deps import IdPath, RedisDep, SessionDep, SettingsDep
from api.schemas.fleet import FleetOut
from core import crm
from core.crypto import keyring
from core.enums import AccountStatus, Role, SendStatus
from core.errors import DomainError, NotFound
from core.outbox import sends
from core.people import SignedIn
from core.recovery.health import fleet_status
from core.settings import Settings

router = APIRouter(prefix="/console/fleet", include_in_schema=False)

DEAD_LETTERS_SHOWN = 50
# How often an open fleet page's stream re-reads the fleet, in seconds: its ages count in
# whole seconds.
POLL_S = 1.0


def _reading(session: Session, redis: Redis, settings: Settings) -> dict[str, Any]:
    """What the fleet page shows anyone: the fleet, held accounts, dead letters."""
    try:
        fleet: FleetOut | None = FleetOut.of(fleet_status(session, redis, settings))
    except RedisError:
        fleet = None
    dead = sends.list_sends(
        session, status=SendStatus.failed, account_id=None, limit=DEAD_LETTERS_SHOWN, cursor=None
    )
    # Plain values, not rows: the reading outlives the session it was read in.
    held = [
        {"id": a.id, "name": a.name, "status": a.status, "username": a.username}
        for a in crm.held_accounts_of(session)
    ]
    dead_letters = [
        {"id": d.id, "account_id": d.account_id, "attempt": d.attempt, "last_error": d.last_error}
        for d in dead.items
    ]
    return {"fleet": fleet, "held": held, "dead": dead_letters}


class Reading(Protocol):
    """The fleet page's reading, shared by the open pages of a process (`shared_reading`)."""

    def __call__(self, session: Session, redis: Redis, settings: Settings) -> dict[str, Any]:
        """What the fleet page shows anyone, read at most `max_age_s` ago."""
        ...

    def cache_clear(self) -> None:
        """Forget the reading: the next look reads the fleet again."""
        ...

    def cache_info(self) -> Any:
        """How many looks read the fleet (`misses`) and how many shared a reading
        (`hits`)."""
        ...


def shared_reading(
    max_age_s: float = POLL_S / 2, timer: Callable[[], float] = time.monotonic
) -> Reading:
    """The fleet page's reading, shared by every open fleet page of one control-plane
    process: read at most once in `max_age_s`, however many pages look, one reader at a
    time while the others wait for it. Each page would otherwise read the whole fleet at
    every poll. Its `cache_info()` counts the readings (misses) and the shares (hits)."""
    condition = threading.Condition()
    cache: TTLCache[str, dict[str, Any]] = TTLCache(maxsize=1, ttl=max_age_s, timer=timer)
    share = cached(cache, key=lambda *_: "fleet", lock=condition, condition=condition, info=True)
    return cast(Reading, share(_reading))


def _body(reading: dict[str, Any], person: SignedIn) -> dict[str, Any]:
    """What the fleet page's body shows `person` of `reading`."""
    return {
        **reading,
        "admin": person.principal.role == Role.admin,
        "csrf": person.csrf_token,
    }


@dataclass(frozen=True)
class FleetView:
    """One person's fleet page: what each of its routes answers with."""

    request: Request
    session: Session
    redis: Redis
    settings: Settings
    person: SignedIn

    def show(self, problem: str | None = None, code: int = status.HTTP_200_OK) -> Response:
        """The fleet page, saying why what was asked was not done when it was not."""
        context = {
            "person": self.person.principal,
            "problem": problem,
            # Read afresh: the page answers an action, which it must show done.
            **_body(_reading(self.session, self.redis, self.settings), self.person),
        }
        return templates.TemplateResponse(self.request, "fleet.html", context, status_code=code)

    def back(self) -> Response:
        """Back to the fleet page after a change, which the open pages' next looks show."""
        self.request.app.state.fleet_reading.cache_clear()
        return RedirectResponse("/console/fleet", status_code=status.HTTP_303_SEE_OTHER)


def _view(
    request: Request,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    person: PersonDep,
) -> FleetView:
    return FleetView(request, session, redis, settings, person)


ViewDep = Annotated[FleetView, Depends(_view)]


@router.get("", response_class=HTMLResponse)
def fleet_page(view: ViewDep) -> Response:
    """The fleet, as `/v1/fleet` has it, with the accounts and sends waiting for someone."""
    return view.show()


@dataclass
class FleetWatch:
    """The fleet page's body as `person` last saw it (`shown`), read through the
    process's shared `reading`."""

    reading: Reading
    redis: Redis
    settings: Settings
    person: SignedIn
    shown: str = ""

    def look(self, session: Session) -> str | None:
        """The `fleet` event carrying the page's body when it reads differently, else
        None."""
        # A page's first look reads afresh: a shared reading may be from before the
        # action whose answer the page is, and would show it undone.
        read = self.reading if self.shown else _reading
        context = _body(read(session, self.redis, self.settings), self.person)
        body = templates.get_template("_fleet.html").render(context)
        if body == self.shown:
            return None
        self.shown = body
        return message("fleet", body)


@router.get("/events")
def fleet_events(request: Request) -> StreamingResponse:
    """The fleet page's event stream (text/event-stream): a `fleet` event carrying the
    page's body at once, then whenever it reads differently."""
    state = request.app.state
    return event_stream(
        request,
        lambda person: FleetWatch(state.fleet_reading, state.redis, state.settings, person),
        POLL_S,
    )


def _change_account(view: FleetView, change: Callable[[], object]) -> Response:
    """Make an admin's change to an account; anyone else, or a change refused, is told
    on the page."""
    if view.person.principal.role != Role.admin:
        return view.show("only an admin may change an account", status.HTTP_403_FORBIDDEN)
    try:
        change()
    except DomainError as exc:
        view.session.rollback()
        code = status.HTTP_404_NOT_FOUND if isinstance(exc, NotFound) else status.HTTP_409_CONFLICT
        return view.show(str(exc), code)
    return view.back()


@router.post("/accounts/{account_id:int}/resume")
def resume_account(
    account_id: IdPath, view: ViewDep, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Let a paused account's work run again (admins)."""
    require_csrf(view.person, csrf)
    changes: crm.AccountChanges = {"status": AccountStatus.active}
    return _change_account(view, lambda: _update(view, account_id, changes))


def _update(view: FleetView, account_id: int, changes: crm.AccountChanges) -> None:
    crm.update_account(
        view.session,
        keyring(view.settings),
        account_id,
        changes,
        actor=view.person.principal.name,
    )


@router.post("/accounts/{account_id:int}/credentials")
def fix_credentials(
    account_id: IdPath,
    view: ViewDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1_000)] = "",
) -> Response:
    """Give an account new credentials (admins); a `needs_login` account runs again."""
    require_csrf(view.person, csrf)
    if not password:
        return view.show("password: required", status.HTTP_400_BAD_REQUEST)
    changes: crm.AccountChanges = {"password": password}
    if username.strip():
        changes["username"] = username.strip()
    return _change_account(view, lambda: _update(view, account_id, changes))


@router.post("/sends/requeue")
def requeue(
    view: ViewDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    ids: Annotated[list[int] | None, Form(max_length=DEAD_LETTERS_SHOWN)] = None,
) -> Response:
    """Give the chosen dead letters a fresh set of attempts, queued now."""
    require_csrf(view.person, csrf)
    if not ids:
        return view.show("ids: select at least one send", status.HTTP_400_BAD_REQUEST)
    try:
        sends.requeue_sends(
            view.session, view.redis, view.settings, ids, actor=view.person.principal.name
        )
    except DomainError as exc:
        view.session.rollback()
        return view.show(str(exc), status.HTTP_409_CONFLICT)
    return view.back()
