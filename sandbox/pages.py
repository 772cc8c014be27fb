"""The HTML pages: login, logout, inbox and chat shells (their scripts fetch the JSON)."""

from __future__ import annotations

import math
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from loguru import logger

from sandbox.accounts import Account, password_hash_of
from sandbox.auth import page_account
from sandbox.conversations import find_conversation
from sandbox.messages import sales
from sandbox.money import format_cents
from sandbox.passwords import verify_password
from sandbox.sessions import COOKIE_NAME, end_session, start_session
from sandbox.state import SandboxState, state_of
from sandbox.templates import Safe, initials, page, render

router = APIRouter()

DEFAULT_NEXT = "/inbox"
BAD_LOGIN = "Wrong username or password."

LoggedIn = Annotated[Account, Depends(page_account)]


async def form_fields(request: Request) -> dict[str, str]:
    """The fields of a url-encoded form post (first value of each), read without extras."""
    if request.headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
        return {}
    parsed = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items()}


@router.get("/")
def home() -> RedirectResponse:
    """The site root shows the inbox (or the login page on the way to it)."""
    return RedirectResponse(DEFAULT_NEXT, status_code=303)


@router.get("/login")
def login_form(next: str = DEFAULT_NEXT) -> HTMLResponse:
    """The login form."""
    return _login_page(next_path=safe_next(next), username="", error=None)


@router.post("/login")
def login(request: Request, form: Annotated[dict[str, str], Depends(form_fields)]) -> Response:
    """Check credentials; start a session (ending any other of the account) and redirect."""
    state = state_of(request)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    next_path = safe_next(form.get("next", DEFAULT_NEXT))
    if not username or not password:
        return _login_page(next_path, username, "Enter your username and password.", 400)
    with state.db.transaction() as tx:
        found = password_hash_of(tx, username)
    account = verified(found, password)
    if account is None:
        logger.info("login refused for {}", username)
        return _login_page(next_path, username, BAD_LOGIN, 401)
    return signed_in(state, account, next_path)


def verified(found: tuple[Account, str] | None, password: str) -> Account | None:
    """The account when `password` matches its stored hash, else None."""
    # Hash outside any transaction: PBKDF2 is slow and the database lock is shared.
    if found is None or not verify_password(password, found[1]):
        return None
    return found[0]


def signed_in(state: SandboxState, account: Account, next_path: str) -> RedirectResponse:
    """Start a session for `account` (ending its others) and redirect to `next_path`."""
    ttl = state.config.session_ttl_s
    with state.db.transaction() as tx:
        token = start_session(tx, account.id, ttl, state.config.session_max_requests)
    logger.info("login of {}; earlier sessions ended", account.username)
    response = RedirectResponse(next_path, status_code=303)
    # The cookie rounds up to whole seconds; the server enforces the exact expiry.
    lifetime = max(1, math.ceil(ttl))
    response.set_cookie(
        COOKIE_NAME, token, max_age=lifetime, expires=lifetime, httponly=True, samesite="lax"
    )
    return response


def signed_out(request: Request) -> RedirectResponse:
    """End this browser's session and redirect to the login page."""
    state = state_of(request)
    token = request.cookies.get(COOKIE_NAME)
    if token:
        with state.db.transaction() as tx:
            end_session(tx, token)
    response = RedirectResponse(state.config.login_path, status_code=303)
    response.delete_cookie(COOKIE_NAME, httponly=True, samesite="lax")
    return response


@router.get("/logout")
def logout(request: Request) -> RedirectResponse:
    """End this browser's session and show the login page."""
    return signed_out(request)


@router.get("/inbox")
def inbox(account: LoggedIn) -> HTMLResponse:
    """The inbox shell; `inbox.js` lists the conversations."""
    return page("Messages", render("inbox.html"), account, scripts=("common.js", "inbox.js"))


@router.get("/chat/{conversation_id}")
def chat(request: Request, conversation_id: str, account: LoggedIn) -> HTMLResponse:
    """A conversation's shell; `chat.js` shows the thread and runs the composer."""
    with state_of(request).db.transaction() as tx:
        conversation = find_conversation(tx, account.id, conversation_id)
    if conversation is None:
        notice = render(
            "notice.html",
            heading="Conversation not found",
            text="It may have been removed, or it belongs to another account.",
        )
        return page("Not found", notice, account, status_code=404)
    content = render(
        "chat.html",
        conversation_id=conversation.public_id,
        fan_name=conversation.fan_name,
        fan_initials=initials(conversation.fan_name),
    )
    return page(
        conversation.fan_name, content, account, scripts=("common.js", "cadence.js", "chat.js")
    )


@router.get("/purchases")
def purchases(request: Request, account: LoggedIn) -> HTMLResponse:
    """The PPV messages fans bought, newest first (server-rendered, no script)."""
    with state_of(request).db.transaction() as tx:
        sold = sales(tx, account.id)
    rows = Safe(
        "".join(
            render(
                "purchase_row.html",
                message_id=sale.message_id,
                conversation_id=sale.conversation_id,
                amount_cents=str(sale.price_cents),
                paid_at=sale.paid_at,
                fan_name=sale.fan_name,
                price=format_cents(sale.price_cents),
            )
            for sale in sold
        )
    )
    empty = Safe(
        "" if sold else '<p class="empty muted" data-testid="purchases-empty">No purchases yet.</p>'
    )
    return page("Purchases", render("purchases.html", rows=rows, empty=empty), account)


def _login_page(
    next_path: str, username: str, error: str | None, status_code: int = 200
) -> HTMLResponse:
    message = render("login_error.html", message=error) if error else Safe("")
    content = render("login.html", error=message, next=next_path, username=username)
    return page("Log in", content, None, status_code=status_code)


def safe_next(value: str, default: str = DEFAULT_NEXT) -> str:
    """`value` when it is a path on this site, else `default`."""
    # Only paths on this site: "//host" or "/\host" would leave it (an open redirect).
    if value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default
