"""What routes are given: settings, a database session, Redis, and the authenticated caller."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from redis import Redis
from sqlalchemy.orm import Session

from api.errors import invalid
from core.auth import Principal, verify_key
from core.clock import in_window
from core.crm import FanSort
from core.db import Database
from core.drafting.base import Drafter
from core.drafting.providers import get_drafter
from core.enums import Role
from core.errors import MAX_ID
from core.paging import MAX_CURSOR_CHARS
from core.settings import Settings


def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def get_database(request: Request) -> Database:
    """The app's database."""
    return request.app.state.database


def get_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A session per request; services commit, anything left over is rolled back."""
    with database.session() as session:
        yield session


def get_redis(request: Request) -> Redis:
    """The app's Redis client."""
    return request.app.state.redis


def configured_drafter(settings: Annotated[Settings, Depends(get_settings)]) -> Drafter:
    """The drafter the settings configure, for drafting in a request."""
    return get_drafter(settings)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[Session, Depends(get_session)]
RedisDep = Annotated[Redis, Depends(get_redis)]
DrafterDep = Annotated[Drafter, Depends(configured_drafter)]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`fleet keys create`), sent as `Authorization: Bearer KEY`.",
)
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The API key.")


def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    header_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """The caller behind the presented key; 401 when there is none or it is not valid."""
    presented = bearer.credentials if bearer is not None else header_key
    challenge = {"WWW-Authenticate": "Bearer"}
    if not presented:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers=challenge,
        )
    principal = verify_key(session, presented, settings)
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "invalid or revoked API key", headers=challenge
        )
    # Read back by the request log middleware, which names the key of every request.
    request.state.key_name = principal.name
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: Role, admins: bool = True) -> Callable[..., Principal]:
    """A dependency admitting the given roles, and admins unless `admins` is false; 403
    for any other role."""
    allowed = {Role.admin, *roles} if admins else set(roles)
    names = ", ".join(sorted(role.value for role in allowed))

    def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"the {principal.role.value} role may not use this route (allowed: {names})",
            )
        return principal

    return dependency


AdminDep = Annotated[Principal, Depends(require_role())]
StaffDep = Annotated[Principal, Depends(require_role(Role.operator))]
# Worker routes hand out credentials and claim work: a person's key, even an admin's,
# has no business there.
WorkerDep = Annotated[Principal, Depends(require_role(Role.worker, admins=False))]

IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
LimitQuery = Annotated[int, Query(ge=1, le=200, description="Page size.")]
CursorQuery = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=MAX_CURSOR_CHARS,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Where the page starts: a previous page's `next_cursor`; none for the first.",
    ),
]
AccountFilter = Annotated[int | None, Query(ge=1, le=MAX_ID, description="Account id.")]
FanSortQuery = Annotated[FanSort, Query(description="Largest first: spend, or last activity.")]


def query_time(name: str, value: datetime | None) -> datetime | None:
    """A time given in the query, in UTC (no time zone means UTC); a 422 naming `name` when
    it lies outside 2000 to 2100, as a bare number read as epoch seconds does."""
    if value is None:
        return None
    try:
        return in_window(value)
    except ValueError as exc:
        raise invalid(str(exc), "query", name) from None
