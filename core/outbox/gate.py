"""The send gate: the one way a send is made, whatever asked for it.

Nothing reaches a fan without a rule or a person that allowed it. An approved draft (a
reply or a nudge), a draft the approval policy sent by itself, a message an operator wrote,
and each conversation of a bulk send (a mass message, a campaign) all become a `Send` here
and only here, after the guardrails (`core.guardrails.screening`) read the text and the
fan as the database has them now: the content filter, the wellbeing guard and, for a PPV,
the offers check.

- Allowed: the send is added to the session, and the audit log records who or what
  allowed it (`send.created`: its source, the person or policy, the checks that ran).
- Refused: nothing is created, the refusal is audited with every reason
  (`send.refused`), and `SendRefused` names them. The caller commits either way, so the
  refusal stays on record.
- An admin may override a refusal with a reason (`Override`); the override is audited
  with the reasons it overrode (`send.override`). Any other role asking to override is
  refused outright (`Forbidden`), whatever the message.

The gate adds and flushes; it never commits or enqueues. Callers commit, then dispatch
(`core.fleet.dispatch.dispatch_send`), so a row exists before its job.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.auth import Principal
from core.clock import utcnow
from core.crm import fans
from core.crm.fans import ConversationColumns
from core.db import insert_rows, one_of
from core.enums import Role, SendPriority, SendStatus
from core.errors import Forbidden, InvalidState, Refused, get_or_raise
from core.guardrails.offers import Committed
from core.guardrails.screening import Verdict, screen_message
from core.guardrails.wellbeing import GuardResult
from core.models import Account, Draft, Send
from core.platform.profiles import MAX_TEXT_CHARS
from core.settings import Settings


class SendSource(StrEnum):
    """What asked for a send."""

    # An operator approved a draft (a reply, or a nudge breaking a fan's silence).
    draft = "draft"
    # The account's approval policy approved a draft by itself.
    auto_send = "auto_send"
    # An operator wrote the message.
    direct = "direct"
    # One message to many conversations: a mass message or a campaign.
    bulk = "bulk"


_PRIORITY = {
    SendSource.draft: SendPriority.reply,
    SendSource.auto_send: SendPriority.reply,
    SendSource.direct: SendPriority.direct,
    SendSource.bulk: SendPriority.bulk,
}
# A fan with no money in the spend cap's window.
_NOTHING_COMMITTED = Committed()


@dataclass(frozen=True)
class Override:
    """An admin's decision to send what the gate refused, and why."""

    by: Principal
    reason: str


@dataclass(frozen=True)
class SendRequest:
    """A message to send into a conversation, and who or what asks: `actor` is the
    operator, or the policy (`policy:auto_send`) that allowed it. The conversation is a
    `Conversation`, or for a mass message a row of the columns the gate reads
    (`fans.CONVERSATION_COLUMNS`)."""

    conversation: ConversationColumns
    text: str
    source: SendSource
    actor: str
    ppv_price_cents: int | None = None
    media: tuple[str, ...] = ()
    draft: Draft | None = None
    override: Override | None = None
    # The campaign variant a campaign's send carries.
    campaign_variant_id: int | None = None


class SendRefused(Refused):
    """The gate refused a send; `reasons` are the rules that fired (answered with 409)."""


@dataclass(frozen=True)
class Admitted:
    """A send the gate made, and the reasons an admin's override sent it past (none when
    nothing fired: an override asked for and not needed overrides nothing)."""

    send: Send
    overrode: tuple[str, ...] = ()


@dataclass(frozen=True)
class Queued:
    """A send `admit_many` made, as a row: its id and account. A mass message makes
    thousands; objects for each would cost more than the rows."""

    send_id: int
    account_id: int


def _refusal_message(request: SendRequest, reasons: tuple[str, ...]) -> str:
    listed = ", ".join(reasons)
    if request.draft is not None:
        return (
            f"draft {request.draft.id} is blocked ({listed}); only an admin can approve it, "
            "with override and an override_reason"
        )
    return (
        f"the message may not be sent to conversation {request.conversation.id} ({listed}); "
        "only an admin can send it, with override and an override_reason"
    )


def check_override(override: Override | None) -> None:
    """`Forbidden` unless the override, if any, is an admin's: no other role may send past
    the guardrails, whatever the message."""
    if override is not None and override.by.role != Role.admin:
        raise Forbidden(
            "only an admin may override the content filter, the wellbeing guard and the "
            "offers check"
        )


def _verdict(
    request: SendRequest, account: Account, guard: GuardResult, committed: Committed
) -> Verdict:
    """What the guardrails say of the request to a conversation of `account` (its persona
    and policy)."""
    return screen_message(
        request.text,
        persona=account.persona,
        policy=account.policy,
        guard=guard,
        committed=committed,
        ppv_price_cents=request.ppv_price_cents,
    )


def screen(session: Session, request: SendRequest, now: datetime) -> Verdict:
    """What the guardrails say of the request as the database stands at `now`."""
    conversation = request.conversation
    committed = (
        Committed()
        if request.ppv_price_cents is None
        else fans.committed(session, conversation.fan_id, now)
    )
    account = get_or_raise(session, Account, conversation.account_id)
    return _verdict(request, account, fans.guard(session, conversation, now), committed)


def _subject(request: SendRequest) -> tuple[str, int]:
    if request.draft is not None:
        return "draft", request.draft.id
    return "conversation", request.conversation.id


def admit_send(
    session: Session, settings: Settings, request: SendRequest, *, now: datetime | None = None
) -> Admitted:
    """Create the send `request` asks for if the gate allows it (see the module doc), add
    it to the session and flush it; the caller commits and dispatches. `SendRefused` when
    the gate refuses and no admin overrides (the refusal is recorded first: commit it);
    `Forbidden` for an override by anyone but an admin; `InvalidState` for a text longer
    than `MAX_TEXT_CHARS` or a fan erased at their request."""
    _check(request, fans.erased_among(session, [request.conversation.fan_id]))
    return _admit(session, settings, request, screen(session, request, now or utcnow()))


def admit_many(
    session: Session, settings: Settings, requests: Sequence[SendRequest], *, now: datetime
) -> list[Queued | SendRefused]:
    """`admit_send` for many requests (a mass message: no draft, no override), each
    answered in order with its send's row or its refusal (recorded: commit it). The fans
    are read once for all, in a constant number of queries (`core.crm.fans`), and the
    sends inserted and audited in one statement each; a PPV admitted counts as an open
    offer for the requests after it to the same fan, as a flushed send does for
    `admit_send`."""
    erased = fans.erased_among(session, {request.conversation.fan_id for request in requests})
    for request in requests:
        _check(request, erased)
    conversations = [request.conversation for request in requests]
    accounts = _accounts(session, {conversation.account_id for conversation in conversations})
    guards = fans.guards(session, conversations, now)
    priced = {r.conversation.fan_id for r in requests if r.ppv_price_cents is not None}
    committed = fans.committed_many(session, priced, now)
    offered: dict[int, int] = {}
    results: list[Queued | SendRefused | None] = []
    made: list[_Made] = []
    for request in requests:
        conversation = request.conversation
        fan_id = conversation.fan_id
        held = committed.get(fan_id, _NOTHING_COMMITTED)
        so_far = (
            Committed(held.spent_cents, held.open_offers_cents + offered[fan_id])
            if fan_id in offered
            else held
        )
        verdict = _verdict(
            request, accounts[conversation.account_id], guards[conversation.id], so_far
        )
        try:
            made.append(_Made(request, verdict, _allowed_by(session, request, verdict)))
        except SendRefused as refused:
            results.append(refused)
            continue
        results.append(None)
        if request.ppv_price_cents is not None:
            offered[fan_id] = offered.get(fan_id, 0) + request.ppv_price_cents
    # The table, not the class: the ORM's bulk path would go over every row again.
    values = [_send_values(settings, each.request) for each in made]
    ids = insert_rows(session, Send.__table__, values)
    by_actor: dict[str, list[tuple[int, dict[str, object]]]] = {}
    for each, send_id in zip(made, ids, strict=True):
        by_actor.setdefault(each.request.actor, []).append((send_id, each.detail()))
    for actor, entries in by_actor.items():
        audit.record_many(session, actor, "send.created", "send", entries)
    queued = iter(
        Queued(send_id, each.request.conversation.account_id)
        for each, send_id in zip(made, ids, strict=True)
    )
    return [next(queued) if result is None else result for result in results]


def _accounts(session: Session, account_ids: Collection[int]) -> dict[int, Account]:
    """The accounts of `account_ids` (their personas and policies), by id, in one query."""
    if not account_ids:
        return {}
    return {
        account.id: account
        for account in session.scalars(
            select(Account).where(one_of(session, Account.id, account_ids))
        )
    }


def _check(request: SendRequest, erased: Collection[int]) -> None:
    """What no guardrail verdict can change: who may override, a fan erased (one of
    `erased`, `fans.erased_among`), the text's length."""
    check_override(request.override)
    if request.conversation.fan_id in erased:
        # Not a guardrail an admin may override: the fan asked to be forgotten.
        raise InvalidState(
            f"fan {request.conversation.fan_id} was erased at their request; nothing is sent "
            "to them"
        )
    if len(request.text) > MAX_TEXT_CHARS:
        raise InvalidState(
            f"the text is {len(request.text)} characters; a send holds at most {MAX_TEXT_CHARS}"
        )


@dataclass(frozen=True)
class _Made:
    """A send the gate allows, and what its `send.created` audit entry will say once the
    send has an id."""

    request: SendRequest
    verdict: Verdict
    allowed_by: str

    def detail(self) -> dict[str, object]:
        """What the send's `send.created` entry says."""
        return {
            "allowed_by": self.allowed_by,
            "checks": list(self.verdict.checks),
            "override": not self.verdict.allowed,
            "priority": _PRIORITY[self.request.source].value,
            **_common(self.request),
        }


def _common(request: SendRequest) -> dict[str, object]:
    return {
        "source": request.source.value,
        "conversation_id": request.conversation.id,
        "draft_id": None if request.draft is None else request.draft.id,
        "ppv_price_cents": request.ppv_price_cents,
        "media": list(request.media),
    }


def _admit(
    session: Session, settings: Settings, request: SendRequest, verdict: Verdict
) -> Admitted:
    """Make the send the verdict allows (or an admin's override sends past it), flushed
    and audited; `SendRefused`, audited, when it does not."""
    made = _Made(request, verdict, _allowed_by(session, request, verdict))
    send = Send(**_send_values(settings, request))
    session.add(send)
    session.flush()
    audit.record(session, request.actor, "send.created", "send", send.id, **made.detail())
    return Admitted(send, verdict.reasons)


def _allowed_by(session: Session, request: SendRequest, verdict: Verdict) -> str:
    """Who lets the send go: the requester when the verdict allows it, the admin whose
    override sends it past the reasons (audited); `SendRefused`, audited, otherwise."""
    if verdict.allowed:
        return request.actor
    subject_type, subject_id = _subject(request)
    if request.override is None:
        audit.record(
            session,
            request.actor,
            "send.refused",
            subject_type,
            subject_id,
            reasons=list(verdict.reasons),
            **_common(request),
        )
        raise SendRefused(_refusal_message(request, verdict.reasons), verdict.reasons)
    audit.record(
        session,
        request.override.by.name,
        "send.override",
        subject_type,
        subject_id,
        reasons=list(verdict.reasons),
        override_reason=request.override.reason,
        **_common(request),
    )
    return request.override.by.name


def _send_values(settings: Settings, request: SendRequest) -> dict[str, Any]:
    """The columns of the send `request` makes, queued for its first attempt."""
    conversation = request.conversation
    return {
        "account_id": conversation.account_id,
        "conversation_id": conversation.id,
        "draft_id": None if request.draft is None else request.draft.id,
        "text": request.text,
        "ppv_price_cents": request.ppv_price_cents,
        "media": list(request.media),
        "status": SendStatus.queued,
        "priority": _PRIORITY[request.source],
        "attempt": 1,
        "max_attempts": settings.max_attempts,
        # Set here, not by the server: a value the server sets is read back, row by row.
        "failed_attempts": 0,
        "artifacts": {},
        "created_by": request.actor,
        "campaign_variant_id": request.campaign_variant_id,
    }
