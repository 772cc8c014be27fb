"""The console's review screen: opening a draft claims it; the page shows the thread's
recent messages, the variants, an editor and the fan; its forms approve (as written, as
another variant, or edited; an admin may override a refusal with a reason) or reject with
a reason. Each decision goes through `core.review` as the API's does, and the browser is
sent on to the next draft in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.orm import Session

from api.console.auth import PersonDep, require_csrf
from api.console.live import stream_url
from api.console.pages import templates
from api.deps import IdPath, RedisDep, SessionDep, SettingsDep
from api.schemas.common import MediaId
from api.schemas.drafts import QueuedDraftOut
from core import review
from core.clock import utcnow
from core.crm import FanChanges, fans, update_fan
from core.drafting.fan import spend_tier
from core.enums import DraftStatus, Role
from core.errors import DomainError, InvalidState
from core.guardrails import content_filter
from core.outbox import Override, SendRefused, sends
from core.people import SignedIn
from core.platform.profiles import MAX_TEXT_CHARS
from core.settings import Settings

router = APIRouter(prefix="/console/drafts", include_in_schema=False)

# Vault ids as the API reads them.
_MEDIA = TypeAdapter(list[MediaId])
# As the API's `PriceCents`.
MAX_PPV_CENTS = 10_000_000


def _next_pending(session: Session, settings: Settings, after: int) -> int | None:
    """The first draft of the queue other than `after`, or None."""
    page = review.list_drafts(
        session, settings, status=DraftStatus.pending, account_id=None, limit=2
    )
    return next((queued.draft.id for queued in page.items if queued.draft.id != after), None)


@dataclass(frozen=True)
class Screen:
    """One person's review screen of one draft: what each of its routes answers with."""

    request: Request
    session: Session
    settings: Settings
    person: SignedIn
    draft_id: int
    # Before the claim is tried: a claim running out after it is told to the page.
    opened_at: datetime = field(default_factory=utcnow)

    def show(
        self,
        *,
        held_by: str | None = None,
        problem: str | None = None,
        refused: list[str] | None = None,
        text: str | None = None,
        code: int = status.HTTP_200_OK,
    ) -> Response:
        """The page as the draft stands, with what to tell the person."""
        session, person = self.session, self.person
        queued = review.queued_draft(session, self.settings, self.draft_id)
        draft = queued.draft
        fan = draft.conversation.fan
        context: dict[str, Any] = {
            "person": person.principal,
            "csrf": person.csrf_token,
            "draft": QueuedDraftOut.of(queued),
            "thread": fans.recent_messages(session, draft.conversation_id),
            "fan": fan,
            "tier": spend_tier(fan.total_spend_cents),
            "held_by": held_by,
            "problem": problem,
            "refused": refused or [],
            "text": draft.text if text is None else text,
            "admin": person.principal.role == Role.admin,
            "next_id": _next_pending(session, self.settings, self.draft_id),
            "events": stream_url(session, self.opened_at),
        }
        return templates.TemplateResponse(self.request, "review.html", context, status_code=code)

    def refuse(self, problem: str, code: int, text: str | None = None) -> Response:
        """The page again, saying why what was asked was not done; nothing of it kept."""
        self.session.rollback()
        return self.show(problem=problem, text=text, code=code)


def _screen(
    request: Request,
    draft_id: IdPath,
    session: SessionDep,
    settings: SettingsDep,
    person: PersonDep,
) -> Screen:
    return Screen(request, session, settings, person, draft_id)


ScreenDep = Annotated[Screen, Depends(_screen)]


@router.get("/{draft_id:int}", response_class=HTMLResponse)
def open_draft(screen: ScreenDep) -> Response:
    """A draft to review, claimed for the person opening it; held by another, it is shown
    without its forms, naming the holder."""
    try:
        review.claim_draft(
            screen.session, screen.settings, screen.draft_id, actor=screen.person.principal.name
        )
    except InvalidState as exc:
        screen.session.rollback()
        return screen.show(held_by=str(exc))
    return screen.show()


@router.get("/{draft_id:int}/holder", response_class=HTMLResponse)
def holder(draft_id: IdPath, session: SessionDep, person: PersonDep) -> Response:
    """Who holds the draft now, for a page showing it held: once nobody does, a link
    that takes it."""
    held = review.claim_holder(session, draft_id)
    if held is not None and held != person.principal.name:
        return HTMLResponse(f"draft {draft_id} is claimed by {escape(held)}")
    return HTMLResponse(f'Nobody holds it now. <a href="/console/drafts/{draft_id}">Take it</a>')


def _onward(session: Session, settings: Settings, decided: int) -> RedirectResponse:
    following = _next_pending(session, settings, decided)
    where = "/console" if following is None else f"/console/drafts/{following}"
    return RedirectResponse(where, status_code=status.HTTP_303_SEE_OTHER)


def _override(person: SignedIn, reason: str) -> Override | None:
    """The override an admin's reason asks for (the gate refuses anyone else's)."""
    return Override(by=person.principal, reason=reason.strip()) if reason.strip() else None


@router.post("/{draft_id:int}/approve")
def approve(
    screen: ScreenDep,
    redis: RedisDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    text: Annotated[str, Form(max_length=MAX_TEXT_CHARS)] = "",
    variant: Annotated[int | None, Form(ge=0, le=4)] = None,
    override_reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Approve the draft as the editor holds it; a refusal is shown on the page with its
    reasons, and an admin may send it past them with a reason."""
    session, settings, person = screen.session, screen.settings, screen.person
    require_csrf(person, csrf)
    chosen = review.queued_draft(session, settings, screen.draft_id).draft
    if variant is not None and variant >= len(chosen.variants):
        return screen.refuse(
            f"variant: this draft has {len(chosen.variants)}", status.HTTP_400_BAD_REQUEST
        )
    written = chosen.variants[variant].text if variant is not None else chosen.text
    # Browsers send a textarea's line breaks as CRLF.
    edited = text.replace("\r\n", "\n")
    try:
        review.approve_draft(
            session,
            redis,
            settings,
            screen.draft_id,
            actor=person.principal.name,
            text=None if not edited or edited == written else edited,
            variant=variant,
            override=_override(person, override_reason),
        )
    except SendRefused as exc:
        return screen.show(
            refused=list(exc.reasons), text=edited or None, code=status.HTTP_409_CONFLICT
        )
    except InvalidState as exc:
        return screen.refuse(str(exc), status.HTTP_409_CONFLICT, text=edited or None)
    return _onward(session, settings, screen.draft_id)


@router.post("/{draft_id:int}/reject")
def reject(
    screen: ScreenDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Reject the draft with the reason given; none is refused on the page."""
    require_csrf(screen.person, csrf)
    if not reason.strip():
        return screen.refuse("reason: a rejection needs one", status.HTTP_400_BAD_REQUEST)
    try:
        review.reject_draft(
            screen.session, screen.draft_id, actor=screen.person.principal.name, reason=reason
        )
    except InvalidState as exc:
        return screen.refuse(str(exc), status.HTTP_409_CONFLICT)
    return _onward(screen.session, screen.settings, screen.draft_id)


@router.post("/{draft_id:int}/release")
def release(
    draft_id: IdPath,
    session: SessionDep,
    person: PersonDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Let go of the draft, back to the queue for anyone; an admin may free another's."""
    require_csrf(person, csrf)
    principal = person.principal
    try:
        review.release_draft(
            session, draft_id, actor=principal.name, admin=principal.role == Role.admin
        )
    except InvalidState:
        session.rollback()
    return RedirectResponse("/console", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/{draft_id:int}/fan")
def edit_fan(
    screen: ScreenDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    tags: Annotated[str, Form(max_length=2_000)] = "",
    notes: Annotated[str, Form(max_length=MAX_TEXT_CHARS)] = "",
) -> Response:
    """Write the fan's tags (comma-separated, replacing theirs) and notes, audited as the
    API's edit is; they reach the drafter's prompt."""
    require_csrf(screen.person, csrf)
    draft = review.queued_draft(screen.session, screen.settings, screen.draft_id).draft
    try:
        changes = FanChanges(
            tags=[tag.strip() for tag in tags.split(",") if tag.strip()],
            notes=notes.replace("\r\n", "\n"),
        )
        update_fan(
            screen.session, draft.conversation.fan_id, changes, actor=screen.person.principal.name
        )
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "fan"
        return screen.refuse(f"{where}: {first['msg']}", status.HTTP_400_BAD_REQUEST)
    except DomainError as exc:
        return screen.refuse(str(exc), status.HTTP_409_CONFLICT)
    return _back_to(screen.draft_id)


def _back_to(draft_id: int) -> RedirectResponse:
    return RedirectResponse(f"/console/drafts/{draft_id}", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/{draft_id:int}/send")
def compose(
    screen: ScreenDep,
    redis: RedisDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    message: Annotated[str, Form(max_length=MAX_TEXT_CHARS)] = "",
    ppv_price_cents: Annotated[int | None, Form(ge=0, le=MAX_PPV_CENTS)] = None,
    media: Annotated[str, Form(max_length=2_000)] = "",
    override_reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Send a message of one's own (a PPV with a price, and vault media by id, in order)
    into the draft's conversation, through the send gate as every send; a refusal is
    shown with its reasons."""
    require_csrf(screen.person, csrf)
    text = message.replace("\r\n", "\n")
    if not text.strip():
        return screen.refuse("message: required", status.HTTP_400_BAD_REQUEST)
    try:
        items = tuple(_MEDIA.validate_python(media.replace(",", " ").split()))
    except ValidationError:
        return screen.refuse(
            "media: vault ids are 1 to 200 printable characters, no spaces",
            status.HTTP_400_BAD_REQUEST,
        )
    draft = review.queued_draft(screen.session, screen.settings, screen.draft_id).draft
    try:
        sends.create_direct_send(
            screen.session,
            redis,
            screen.settings,
            conversation_id=draft.conversation_id,
            text=text,
            ppv_price_cents=ppv_price_cents,
            media=items,
            actor=screen.person.principal.name,
            override=_override(screen.person, override_reason),
        )
    except SendRefused as exc:
        return screen.show(refused=list(exc.reasons), code=status.HTTP_409_CONFLICT)
    except DomainError as exc:
        return screen.refuse(str(exc), status.HTTP_409_CONFLICT)
    return _back_to(screen.draft_id)


@router.post("/{draft_id:int}/check", response_class=HTMLResponse)
def check_edit(
    screen: ScreenDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    text: Annotated[str, Form(max_length=MAX_TEXT_CHARS)] = "",
) -> Response:
    """What the content filter says of the editor's text as it is typed, before any
    approval: the rules it would hold the send for."""
    require_csrf(screen.person, csrf)
    draft = review.queued_draft(screen.session, screen.settings, screen.draft_id).draft
    persona = draft.conversation.account.persona
    result = content_filter.check(text.replace("\r\n", "\n"), persona.forbidden_words)
    context = {"rules": sorted(result.rule_counts())}
    return templates.TemplateResponse(screen.request, "_check.html", context)
