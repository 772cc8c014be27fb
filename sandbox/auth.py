"""Who is logged in: the session cookie turned into an account, for pages and JSON."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import HTTPException, Request

from sandbox.accounts import Account
from sandbox.sessions import COOKIE_NAME, session_account
from sandbox.state import state_of


class LoginRequired(Exception):
    """A page was requested without a live session; the app redirects to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def login_url(self) -> str:
        """The login page, set to come back here afterwards."""
        return f"/login?next={quote(self.next_path, safe='')}"


def current_account(request: Request) -> Account | None:
    """The account whose live session cookie came with `request`, if any."""
    token = request.cookies.get(COOKIE_NAME)
    if not token:
        return None
    with state_of(request).db.transaction() as tx:
        return session_account(tx, token)


def page_account(request: Request) -> Account:
    """Dependency of pages: the logged-in account, else a redirect to the login page."""
    account = current_account(request)
    if account is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return account


def api_account(request: Request) -> Account:
    """Dependency of JSON endpoints: the logged-in account, else 401."""
    account = current_account(request)
    if account is None:
        raise HTTPException(status_code=401, detail="Not logged in")
    return account
