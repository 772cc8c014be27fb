"""Who a console request comes from, and the CSRF check every console form passes.

A signed-in browser holds the session cookie (`SESSION_COOKIE`: HTTP-only, SameSite=Lax,
Secure unless `console_secure_cookie` is off, scoped to `/console`). Its forms carry the
session's CSRF token, compared in constant time. The sign-in form, before any session,
uses a double-submit token instead: a random cookie (`SIGN_IN_COOKIE`) and the same value
in the form, which another site can neither read nor set.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status

from api.deps import SessionDep
from core.people import SignedIn, signed_in
from core.settings import Settings

SESSION_COOKIE = "fleet_console"
SIGN_IN_COOKIE = "fleet_console_sign_in"
COOKIE_PATH = "/console"


class NotSignedIn(Exception):
    """The request has no live session: the console answers with the sign-in page."""


def current(request: Request, session: SessionDep) -> SignedIn:
    """The signed-in person of the request; `NotSignedIn` otherwise."""
    person = signed_in(session, request.cookies.get(SESSION_COOKIE))
    if person is None:
        raise NotSignedIn
    return person


PersonDep = Annotated[SignedIn, Depends(current)]


def same_token(expected: str | None, given: str | None) -> bool:
    """Whether a form's CSRF token is the one expected, compared in constant time."""
    return bool(expected) and bool(given) and hmac.compare_digest(expected or "", given or "")


def require_csrf(person: SignedIn, given: str | None) -> None:
    """403 unless the form carries the session's CSRF token."""
    if not same_token(person.csrf_token, given):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "csrf: the form's token is missing or stale")


def set_cookie(response: Response, settings: Settings, name: str, value: str, max_age: int) -> None:
    """Set one of the console's cookies, as every one of them is set."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=COOKIE_PATH,
        secure=settings.console_secure_cookie,
        httponly=True,
        samesite="lax",
    )


def sign_in_token(request: Request) -> str:
    """The sign-in form's double-submit token: the browser's, or a new one."""
    return request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)


def client_address(request: Request) -> str:
    """The address a request comes from, as sign-in counts failures by it."""
    return request.client.host if request.client else "unknown"
