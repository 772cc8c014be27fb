"""The console's fleet page: what `/v1/fleet` says (workers and the accounts they hold,
queue depths and oldest jobs, sends by status, why the fleet is unhealthy), the accounts
held for an operator, and the dead letters, refreshed every few seconds. Admins resume a
paused account and give a `needs_login` account its credentials; anyone staffing the
queue requeues dead letters. Each action goes through `core` as the API's does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from api.console.auth import PersonDep, require_csrf
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
# How often an open fleet page re-reads the fleet, in seconds.
REFRESH_S = 3


def _status_context(
    session: Session, redis: Redis, settings: Settings, person: SignedIn
) -> dict[str, Any]:
    try:
        fleet: FleetOut | None = FleetOut.of(fleet_status(session, redis, settings))
    except RedisError:
        fleet = None
    dead = sends.list_sends(
        session, status=SendStatus.failed, account_id=None, limit=DEAD_LETTERS_SHOWN, cursor=None
    )
    return {
        "fleet": fleet,
        "held": crm.held_accounts_of(session),
        "dead": dead.items,
        "admin": person.principal.role == Role.admin,
        "csrf": person.csrf_token,
    }


@router.get("", response_class=HTMLResponse)
def fleet_page(
    request: Request,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    person: PersonDep,
) -> Response:
    """The fleet, as `/v1/fleet` has it, with the accounts and sends waiting for someone."""
    return _page(request, session, redis, settings, person)


def _page(
    request: Request,
    session: Session,
    redis: Redis,
    settings: Settings,
    person: SignedIn,
    problem: str | None = None,
    code: int = status.HTTP_200_OK,
) -> Response:
    """The fleet page, saying why what was asked was not done when it was not."""
    context = {
        "person": person.principal,
        "refresh_s": REFRESH_S,
        "problem": problem,
        **_status_context(session, redis, settings, person),
    }
    return templates.TemplateResponse(request, "fleet.html", context, status_code=code)


@router.get("/status", response_class=HTMLResponse)
def fleet_status_fragment(
    request: Request, session: SessionDep, redis: RedisDep, settings: SettingsDep, person: PersonDep
) -> Response:
    """The fleet page's body alone, as the open page re-reads it."""
    context = _status_context(session, redis, settings, person)
    return templates.TemplateResponse(request, "_fleet.html", context)


def _back() -> RedirectResponse:
    return RedirectResponse("/console/fleet", status_code=status.HTTP_303_SEE_OTHER)


def _change_account(
    request: Request,
    session: Session,
    redis: Redis,
    settings: Settings,
    person: SignedIn,
    change: Callable[[], object],
) -> Response:
    """Make an admin's change to an account; anyone else, or a change refused, is told
    on the page."""
    if person.principal.role != Role.admin:
        return _page(
            request, session, redis, settings, person,
            "only an admin may change an account", status.HTTP_403_FORBIDDEN,
        )  # fmt: skip
    try:
        change()
    except DomainError as exc:
        session.rollback()
        code = status.HTTP_404_NOT_FOUND if isinstance(exc, NotFound) else status.HTTP_409_CONFLICT
        return _page(request, session, redis, settings, person, str(exc), code)
    return _back()


@router.post("/accounts/{account_id:int}/resume")
def resume_account(
    request: Request,
    account_id: IdPath,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    person: PersonDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Let a paused account's work run again (admins)."""
    require_csrf(person, csrf)
    return _change_account(
        request, session, redis, settings, person,
        lambda: crm.update_account(
            session, keyring(settings), account_id, {"status": AccountStatus.active},
            actor=person.principal.name,
        ),
    )  # fmt: skip


@router.post("/accounts/{account_id:int}/credentials")
def fix_credentials(
    request: Request,
    account_id: IdPath,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    person: PersonDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1_000)] = "",
) -> Response:
    """Give an account new credentials (admins); a `needs_login` account runs again."""
    require_csrf(person, csrf)
    if not password:
        return _page(
            request, session, redis, settings, person,
            "password: required", status.HTTP_400_BAD_REQUEST,
        )  # fmt: skip
    changes: crm.AccountChanges = {"password": password}
    if username.strip():
        changes["username"] = username.strip()
    return _change_account(
        request, session, redis, settings, person,
        lambda: crm.update_account(
            session, keyring(settings), account_id, changes, actor=person.principal.name
        ),
    )  # fmt: skip


@router.post("/sends/requeue")
def requeue(
    request: Request,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    person: PersonDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    ids: Annotated[list[int] | None, Form(max_length=DEAD_LETTERS_SHOWN)] = None,
) -> Response:
    """Give the chosen dead letters a fresh set of attempts, queued now."""
    require_csrf(person, csrf)
    if not ids:
        return _page(
            request, session, redis, settings, person,
            "ids: select at least one send", status.HTTP_400_BAD_REQUEST,
        )  # fmt: skip
    try:
        sends.requeue_sends(session, redis, settings, ids, actor=person.principal.name)
    except DomainError as exc:
        session.rollback()
        return _page(request, session, redis, settings, person, str(exc), status.HTTP_409_CONFLICT)
    return _back()
