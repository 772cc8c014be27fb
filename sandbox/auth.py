"""Who is logged in: the session cookie turned into an account, for pages and JSON.

Every page or JSON request of a logged-in account is one action against the account's
per-minute cap; past it the request is refused (429, recorded as a refusal) before the
page or endpoint runs, as a careful platform rate-limits a session that hammers it.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import HTTPException, Request
from loguru import logger

from sandbox.accounts import Account
from sandbox.audit import record_refusal
from sandbox.sessions import COOKIE_NAME, session_account
from sandbox.state import state_of

ACTION_RATE_REASON = "actions_per_minute"


class LoginRequired(Exception):
    """A page was requested without a live session; the app redirects to the login page."""

    def __init__(self, next_path: str, login_path: str = "/login") -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.login_path = login_path

    @property
    def login_url(self) -> str:
        """The login page, set to come back here afterwards."""
        return f"{self.login_path}?next={quote(self.next_path, safe='')}"


class TooManyActions(Exception):
    """`account` made more requests in the (scaled) minute than the platform allows;
    `page` says whether a page (not a JSON endpoint) was asked for."""

    def __init__(self, account: Account, retry_after_s: float, page: bool) -> None:
        super().__init__(retry_after_s)
        self.account = account
        self.retry_after_s = retry_after_s
        self.page = page


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
        raise LoginRequired(path, state_of(request).config.login_path)
    return _admit(request, account, page=True)


def api_account(request: Request) -> Account:
    """Dependency of JSON endpoints: the logged-in account, else 401."""
    account = current_account(request)
    if account is None:
        raise HTTPException(status_code=401, detail="Not logged in")
    return _admit(request, account, page=False)


def _admit(request: Request, account: Account, page: bool) -> Account:
    """`account`, once its request fits the action cap; else record and raise the refusal."""
    state = state_of(request)
    guards = state.guards
    wait_s = state.actions.admit(account.id, guards.actions_per_minute, guards.action_window_s)
    if wait_s is None:
        return account
    with state.db.transaction() as tx:
        record_refusal(tx, account.id, None, ACTION_RATE_REASON)
    logger.info(
        "request refused ({}) for {}: {}", ACTION_RATE_REASON, account.username, request.url.path
    )
    raise TooManyActions(account, wait_s, page)
