"""The console's fleet page: what `/v1/fleet` says (workers and the accounts they hold,
queue depths and oldest jobs, sends by status, why the fleet is unhealthy), the accounts
held for an operator, and the dead letters, refreshed every few seconds. Admins resume a
paused account and give a `needs_login` account its credentials; anyone staffing the
queue requeues dead letters. Each action goes through `core` as the API's does.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request, status
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
from core.errors import DomainError
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
    context = {
        "person": person.principal,
        "refresh_s": REFRESH_S,
        **_status_context(session, redis, settings, person),
    }
    return templates.TemplateResponse(request, "fleet.html", context)


@router.get("/status", response_class=HTMLResponse)
def fleet_status_fragment(
    request: Request, session: SessionDep, redis: RedisDep, settings: SettingsDep, person: PersonDep
) -> Response:
    """The fleet page's body alone, as the open page re-reads it."""
    context = _status_context(session, redis, settings, person)
    return templates.TemplateResponse(request, "_fleet.html", context)


def _admin(person: SignedIn) -> None:
    if person.principal.role != Role.admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "only an admin may change an account")


def _back() -> RedirectResponse:
    return RedirectResponse("/console/fleet", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/accounts/{account_id:int}/resume")
def resume_account(
    account_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    person: PersonDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Let a paused account's work run again (admins)."""
    require_csrf(person, csrf)
    _admin(person)
    crm.update_account(
        session,
        keyring(settings),
        account_id,
        {"status": AccountStatus.active},
        actor=person.principal.name,
    )
    return _back()


@router.post("/accounts/{account_id:int}/credentials")
def fix_credentials(
    account_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    person: PersonDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1_000)] = "",
) -> Response:
    """Give an account new credentials (admins); a `needs_login` account runs again."""
    require_csrf(person, csrf)
    _admin(person)
    if not password:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "password: required")
    changes: crm.AccountChanges = {"password": password}
    if username.strip():
        changes["username"] = username.strip()
    crm.update_account(session, keyring(settings), account_id, changes, actor=person.principal.name)
    return _back()


@router.post("/sends/requeue")
def requeue(
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
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "ids: select at least one send")
    try:
        sends.requeue_sends(session, redis, settings, ids, actor=person.principal.name)
    except DomainError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _back()
