"""Velvet: the sandbox's second platform, the same creator inbox built another way.

Where fanbox marks everything up with data attributes, velvet shows what a person reads,
as many real sites do: an email sign-in, times printed without an offset in its own zone
(and relative ones in the list), money only as text, the PPV price behind a "$" button,
message direction as a CSS class, no fan-id attribute (only an @handle), no loaded
markers, and no attribute acknowledging a send (the new message just appears). Sessions
work as on fanbox: one per account, a login ends the others. Its JSON endpoints are
fanbox's (`sandbox.api`): the difference is all in the pages a driver reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from loguru import logger

from sandbox.accounts import Account, password_hash_by_email
from sandbox.auth import page_account
from sandbox.conversations import find_conversation
from sandbox.messages import sales
from sandbox.money import format_cents
from sandbox.pages import form_fields, safe_next, signed_in, signed_out, verified
from sandbox.state import state_of
from sandbox.templates import Safe, page, render

router = APIRouter()

HOME = "/messages"
BAD_SIGN_IN = "That email and password don't match an account."
SKIN = "velvet"
SCRIPTS = ("cadence.js", "velvet/velvet.js")

LoggedIn = Annotated[Account, Depends(page_account)]


@router.get("/")
def home() -> RedirectResponse:
    """The site root shows the messages (or the sign-in page on the way to them)."""
    return RedirectResponse(HOME, status_code=303)


@router.get("/signin")
def sign_in_form(next: str = HOME) -> HTMLResponse:
    """The sign-in form."""
    return _sign_in_page(safe_next(next, HOME), "", None)


@router.post("/signin")
def sign_in(request: Request, form: Annotated[dict[str, str], Depends(form_fields)]) -> Response:
    """Check email and password; start a session (ending the account's others)."""
    state = state_of(request)
    email = form.get("email", "").strip()
    password = form.get("password", "")
    next_path = safe_next(form.get("next", HOME), HOME)
    if "@" not in email or not password:
        return _sign_in_page(next_path, email, "Enter your email and password.", 400)
    with state.db.transaction() as tx:
        found = password_hash_by_email(tx, email)
    account = verified(found, password)
    if account is None:
        logger.info("sign-in refused")
        return _sign_in_page(next_path, email, BAD_SIGN_IN, 401)
    return signed_in(state, account, next_path)


@router.get("/signout")
def sign_out(request: Request) -> RedirectResponse:
    """End this browser's session."""
    return signed_out(request)


@router.get("/messages")
def messages(request: Request, account: LoggedIn) -> HTMLResponse:
    """The conversation list; `velvet.js` fills it."""
    content = render("velvet/inbox.html", zone=state_of(request).config.timezone)
    return page("Messages", content, account, scripts=SCRIPTS, skin=SKIN)


@router.get("/messages/{conversation_id}")
def chat(request: Request, conversation_id: str, account: LoggedIn) -> HTMLResponse:
    """One conversation; `velvet.js` shows it and runs the composer."""
    state = state_of(request)
    with state.db.transaction() as tx:
        conversation = find_conversation(tx, account.id, conversation_id)
    if conversation is None:
        notice = render("velvet/notice.html", heading="This chat is gone")
        return page("Not found", notice, account, status_code=404, skin=SKIN)
    content = render(
        "velvet/chat.html",
        conversation_id=conversation.public_id,
        fan_name=conversation.fan_name,
        handle=conversation.public_fan_id,
        zone=state.config.timezone,
    )
    return page(conversation.fan_name, content, account, scripts=SCRIPTS, skin=SKIN)


@router.get("/earnings")
def earnings(request: Request, account: LoggedIn) -> HTMLResponse:
    """What fans bought, newest first, with local times and money as text."""
    state = state_of(request)
    zone = ZoneInfo(state.config.timezone)
    with state.db.transaction() as tx:
        sold = sales(tx, account.id)
    rows = []
    for sale in sold:
        local = datetime.fromisoformat(sale.paid_at).astimezone(zone)
        rows.append(
            render(
                "velvet/sale_row.html",
                conversation_id=sale.conversation_id,
                message_id=sale.message_id,
                fan_name=sale.fan_name,
                price=format_cents(sale.price_cents),
                local=local.strftime("%Y-%m-%d %H:%M:%S.") + f"{local.microsecond // 1000:03d}",
                day=local.strftime("%b %-d"),
            )
        )
    empty = Safe("" if sold else '<p class="vv-no-sales">No sales yet.</p>')
    content = render("velvet/earnings.html", rows=Safe("".join(rows)), empty=empty)
    return page("Earnings", content, account, skin=SKIN)


def _sign_in_page(
    next_path: str, email: str, error: str | None, status_code: int = 200
) -> HTMLResponse:
    message = render("velvet/error.html", message=error) if error else Safe("")
    content = render("velvet/signin.html", error=message, next=next_path, email=email)
    return page("Sign in", content, None, status_code=status_code, skin=SKIN)
