"""The control plane's tables: CRM (accounts, fans, conversations, messages), the outbox
(drafts, their feedback, and sends), AI usage, sweeps, the audit log and API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    func,
    literal_column,
    or_,
)
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import from_epoch_ms, utcnow
from core.db import Base, TypedJSON
from core.drafting.fan import SpendTier, spend_tier
from core.drafting.persona import Persona
from core.enums import (
    NUDGE_KINDS,
    AccountStatus,
    CampaignStatus,
    Direction,
    DraftKind,
    DraftStatus,
    Role,
    SendPriority,
    SendStatus,
    SweepStatus,
)
from core.guardrails.content_filter import FilterHit, ScreenedVariant
from core.guardrails.policy import ApprovalPolicy
from core.guardrails.wellbeing import GuardSignal
from core.platform.profiles import PacingOverrides


def _enum(enum: type[StrEnum]) -> Enum:
    # Stored as plain strings: no PostgreSQL enum types to migrate when a value is added.
    return Enum(enum, native_enum=False, length=20, validate_strings=True)


class Account(Base):
    """A creator account on a platform, driven through the browser profile `profile`."""

    __tablename__ = "accounts"
    label: ClassVar[str] = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[str] = mapped_column(String(100), default="sandbox")
    base_url: Mapped[str | None] = mapped_column(String(500))
    username: Mapped[str] = mapped_column(String(200))
    # Sealed (`core.crypto`): opened only for the worker holding the account's lease
    # (`core.crm.accounts.account_secrets`), never in an API response or a log.
    password: Mapped[str] = mapped_column(Text)
    status: Mapped[AccountStatus] = mapped_column(
        _enum(AccountStatus), default=AccountStatus.active
    )
    persona: Mapped[Persona] = mapped_column(TypedJSON(Persona, Persona), default=lambda: Persona())
    auto_send: Mapped[bool] = mapped_column(default=False)
    # The saved browser session (Playwright `storage_state`) as sealed JSON: its cookies
    # log in as well as the password does.
    session_sealed: Mapped[str | None] = mapped_column(Text)
    # The account's own pacing budgets over its profile's defaults.
    pacing: Mapped[PacingOverrides] = mapped_column(
        TypedJSON(PacingOverrides, PacingOverrides), default=lambda: PacingOverrides()
    )
    # The account's approval policy and per-fan rules; NULL (older rows) reads as defaults.
    policy: Mapped[ApprovalPolicy] = mapped_column(
        TypedJSON(ApprovalPolicy, ApprovalPolicy), nullable=True, default=lambda: ApprovalPolicy()
    )
    last_sweep_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # An IANA name ("America/New_York"): the zone a campaign in account time is read in
    # (`core.crm.accounts.account_zone`).
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")

    @property
    def has_session(self) -> bool:
        """Whether a browser session is saved (the session itself is never shown)."""
        return self.session_sealed is not None


# A custom field's value, as a CSV cell or a JSON body gives it.
CustomValue = str | int | float | bool
# The trigram index (`pg_trgm`) of the fan list's search text (`FAN_SEARCH_TEXT`), made by
# migration 0007 on PostgreSQL only: SQLite has no such index, and scans its (one-machine)
# fans instead. Not declared on the table, which would make it on every database.
FAN_SEARCH_INDEXES = frozenset({"ix_fans_search_trgm"})


class Fan(Base):
    """A fan of one account. The CRM's list (`core.crm.fan_list`) filters and sorts them by
    index: spend, and last activity, each overall and per account."""

    __tablename__ = "fans"
    __table_args__ = (
        UniqueConstraint("account_id", "platform_fan_id"),
        Index("ix_fans_account_handle", "account_id", "handle"),
        Index("ix_fans_spend", "total_spend_cents", "id"),
        Index("ix_fans_account_spend", "account_id", "total_spend_cents", "id"),
        Index("ix_fans_active", "last_active_ms", "id"),
        Index("ix_fans_account_active", "account_id", "last_active_ms", "id"),
    )
    label: ClassVar[str] = "fan"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    platform_fan_id: Mapped[str] = mapped_column(String(200))
    # The fan's @handle where the platform's profile reads one (without the "@").
    handle: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200), default="")
    total_spend_cents: Mapped[int] = mapped_column(default=0)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    # What an agency tracks of its own (birthday, city, a chatter's shorthand), by name.
    custom_fields: Mapped[dict[str, CustomValue]] = mapped_column(
        TypedJSON(dict[str, CustomValue], dict), default=dict, server_default="{}"
    )
    # When the fan last wrote, in epoch milliseconds; 0 while they never have. A number,
    # not a nullable time: "most recent first" is then one index read backwards on every
    # database (a NULL sorts first going backwards on PostgreSQL, last on SQLite).
    last_active_ms: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # When the fan's data was erased at their request (`core.crm.erasure`): the row stays,
    # holding only the platform's id, so that no sweep stores their messages again.
    erased_at: Mapped[datetime | None]

    @property
    def last_active_at(self) -> datetime | None:
        """When the fan last wrote; None while they never have."""
        return from_epoch_ms(self.last_active_ms) if self.last_active_ms else None

    @property
    def tier(self) -> SpendTier:
        """The fan's spend tier."""
        return spend_tier(self.total_spend_cents)


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("account_id", "platform_conversation_id"),)
    label: ClassVar[str] = "conversation"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    fan_id: Mapped[int] = mapped_column(ForeignKey("fans.id", ondelete="CASCADE"), index=True)
    platform_conversation_id: Mapped[str] = mapped_column(String(200))
    last_message_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set by the wellbeing guard: no sales offers, every draft held for a human.
    # A server default, so adding the column to a table with rows needs no backfill.
    flagged_for_review: Mapped[bool] = mapped_column(default=False, server_default=false())
    flag_reason: Mapped[str | None] = mapped_column(String(500))
    flagged_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship()
    fan: Mapped[Fan] = relationship(lazy="joined")


# The messages carrying money, as partial indexes select them and queries must say it
# (with the values written out: see `DRAFT_IS_PENDING`).
_TIP_SQL = "tip_cents > 0"
_PURCHASE_SQL = "ppv_paid IS true"
_OFFER_SQL = "direction = 'outbound' AND ppv_price_cents IS NOT NULL"
_UNPAID_OFFER_SQL = f"{_OFFER_SQL} AND (ppv_paid IS NULL OR ppv_paid IS false)"


_DRAFTED_PPV_SQL = (
    f"status = '{SendStatus.delivered.value}' AND draft_id IS NOT NULL"
    " AND ppv_price_cents IS NOT NULL"
)


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, on every database."""
    return {"sqlite_where": sql_text(condition), "postgresql_where": sql_text(condition)}


class Message(Base):
    """A message of a conversation. The money in them is read by index: tips by when they
    were sent, purchases by when they were paid (revenue), PPV offers by when they were
    sent (conversion), and each conversation's unpaid offers (the fan list's filter)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "platform_message_id"),
        Index("ix_messages_conversation_sent", "conversation_id", "sent_at"),
        Index("ix_messages_tips", "sent_at", **_where(_TIP_SQL)),
        Index(
            "ix_messages_purchases", sql_text("coalesce(paid_at, sent_at)"), **_where(_PURCHASE_SQL)
        ),
        Index("ix_messages_offers", "sent_at", **_where(_OFFER_SQL)),
        Index("ix_messages_unpaid_offers", "conversation_id", **_where(_UNPAID_OFFER_SQL)),
    )
    label: ClassVar[str] = "message"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    platform_message_id: Mapped[str] = mapped_column(String(200))
    direction: Mapped[Direction] = mapped_column(_enum(Direction))
    text: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime]
    tip_cents: Mapped[int] = mapped_column(default=0)
    ppv_price_cents: Mapped[int | None]
    ppv_paid: Mapped[bool | None]
    # When the fan paid the PPV, as first seen by ingest: the daily spend cap dates a
    # purchase by its payment, which may come days after the offer (`sent_at`).
    paid_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation] = relationship()


# The nudge kinds, for the drafts' partial indexes. Quoted as they are: they are the
# `DraftKind` enum's own values, plain identifiers. Sorted, so the DDL is stable.
_NUDGE_KINDS_SQL = "kind IN ({})".format(", ".join(f"'{kind}'" for kind in sorted(NUDGE_KINDS)))


_PENDING_SQL = f"status = '{DraftStatus.pending.value}'"
_APPROVED_SQL = f"status = '{DraftStatus.approved.value}'"
_REJECTED_SQL = f"status = '{DraftStatus.rejected.value}'"
_QUEUE_ORDER = ("queue_rank", "wait_since_ms", "id")


def _partial(name: str, *columns: str, where: str | None = None) -> Index:
    """An index of the pending drafts (those `where` also selects, if given)."""
    condition = sql_text(_PENDING_SQL if where is None else f"{_PENDING_SQL} AND {where}")
    return Index(name, *columns, sqlite_where=condition, postgresql_where=condition)


class Draft(Base):
    """A message written by a drafter, waiting for a decision: a reply to one inbound
    message, or a nudge (`follow_up`, `re_engage`) breaking the silence after it.

    `message_id` is the inbound message answered, or for a nudge the fan's last message,
    whose silence it breaks. Unique among replies: one draft per inbound message, so a
    re-run draft job finds the first one; unique per nudge kind: one follow-up and one
    re-engagement per silence at most."""

    __tablename__ = "drafts"
    __table_args__ = (
        Index(
            "uq_drafts_reply_message",
            "message_id",
            unique=True,
            sqlite_where=sql_text(f"NOT ({_NUDGE_KINDS_SQL})"),
            postgresql_where=sql_text(f"NOT ({_NUDGE_KINDS_SQL})"),
        ),
        Index("uq_drafts_message_kind", "message_id", "kind", unique=True),
        # The approval queue (`core.review.listing`), read a page at a time by index: the
        # replies in queue order (the overdue lane), the nudges in queue order, each
        # account's and each spend tier's drafts in queue order, the newest waits (the
        # rising lane), and the longest response target of any pending draft.
        _partial("ix_drafts_queue", *_QUEUE_ORDER, where=f"NOT ({_NUDGE_KINDS_SQL})"),
        _partial("ix_drafts_nudge_queue", *_QUEUE_ORDER, where=_NUDGE_KINDS_SQL),
        _partial("ix_drafts_account_queue", "account_id", *_QUEUE_ORDER),
        _partial("ix_drafts_tier_queue", "fan_tier", *_QUEUE_ORDER),
        _partial("ix_drafts_pending_wait_since_ms", "wait_since_ms"),
        _partial("ix_drafts_pending_target_ms", "target_ms"),
        # The review claims that ran out unreleased (`core.review.claims_ran_out`).
        _partial("ix_drafts_pending_claim_expires_at", "claim_expires_at"),
        # What the drafts learn from (`core.review.learning`), newest decision first: an
        # account's approved drafts of a kind, and its rejected ones.
        # Ending on the id, as the reads' order does, so that a read stops at its first rows.
        Index(
            "ix_drafts_approved_decided",
            "account_id",
            "kind",
            "decided_at",
            "id",
            **_where(_APPROVED_SQL),
        ),
        Index(
            "ix_drafts_rejected_decided", "account_id", "decided_at", "id", **_where(_REJECTED_SQL)
        ),
    )
    label: ClassVar[str] = "draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(50), default=DraftKind.reply)
    # The queue's keys (`core.priority.keys` stamps them, and restamps them when the fan's
    # spend or the account's response target changes), so that a page of the approval
    # queue reads only its own rows: the conversation's account, the fan's spend tier,
    # the points before the wait (hundredths) negated, when the wait began and the
    # account's response target (unscaled), both in epoch milliseconds. Negated, the
    # points sort ascending like the wait and the id, so the rows after a cursor are one
    # index range: (rank, since, id) > (the cursor's).
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    fan_tier: Mapped[SpendTier] = mapped_column(_enum(SpendTier))
    queue_rank: Mapped[int]
    wait_since_ms: Mapped[int] = mapped_column(BigInteger)
    target_ms: Mapped[int] = mapped_column(BigInteger)
    # What the kind detector read in the message (`core.drafting.intent`, or the LLM's
    # classification): the kind, its confidence (0-100) and what decided it
    # (`KindSource`); None on drafts stored before detection existed.
    detected_kind: Mapped[str | None] = mapped_column(String(50))
    kind_confidence: Mapped[int | None]
    kind_source: Mapped[str | None] = mapped_column(String(20))
    # Why the detected kind was not drafted: the wellbeing guard or the daily spend cap
    # (`core.guardrails.offers`); None when it was.
    kind_withheld: Mapped[str | None] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text)
    provider: Mapped[str] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    status: Mapped[DraftStatus] = mapped_column(
        _enum(DraftStatus), default=DraftStatus.pending, index=True
    )
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Why the configured provider's draft was replaced by the offline drafter's.
    fallback_reason: Mapped[str | None] = mapped_column(String(500))
    # Content filter hits on the text and wellbeing guard signals about the fan; either
    # one blocks approval without an admin's override. NULL (older rows) reads as none.
    filter_hits: Mapped[list[FilterHit]] = mapped_column(
        TypedJSON(list[FilterHit], list), nullable=True, default=lambda: []
    )
    guard_signals: Mapped[list[GuardSignal]] = mapped_column(
        TypedJSON(list[GuardSignal], list), nullable=True, default=lambda: []
    )
    blocked: Mapped[bool] = mapped_column(default=False, server_default=false())
    override_reason: Mapped[str | None] = mapped_column(Text)
    # The drafter's alternatives with the filter's hits on each, the default (`text`)
    # first; NULL (drafts stored before variants existed) reads as none.
    variants: Mapped[list[ScreenedVariant]] = mapped_column(
        TypedJSON(list[ScreenedVariant], list), nullable=True, default=lambda: []
    )
    # The confidence (0-100) of what `text` holds; None when unknown.
    confidence: Mapped[int | None]
    # The variant an approval chose.
    variant: Mapped[int | None]
    # A sales draft's suggested price, carried to its send; the approval policy reads it.
    ppv_price_cents: Mapped[int | None]
    # An operator's review lock: nobody else may decide the draft until it expires.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claim_expires_at: Mapped[datetime | None]
    # How many times an operator asked for fresh variants; seeds each redraft anew.
    redrafts: Mapped[int] = mapped_column(default=0, server_default="0")

    conversation: Mapped[Conversation] = relationship()

    @property
    def block_reasons(self) -> list[str]:
        """Why the draft is held, each once: `filter:<rule>` and `guard:<signal>`."""
        reasons = [f"filter:{hit.rule}" for hit in self.filter_hits]
        reasons += [f"guard:{signal.signal}" for signal in self.guard_signals]
        return list(dict.fromkeys(reasons))


# A query reaches a partial index only when its WHERE states the index's condition itself,
# with the values written out: a bound parameter (in a plan PostgreSQL prepared once for
# any value, or in SQLite) proves nothing. These are those conditions, for queries.
DRAFT_IS_PENDING = Draft.status == literal_column(f"'{DraftStatus.pending.value}'")
# What the fan list searches: name, handle and platform id as one text, so one index
# serves it (an index per column would be three to maintain on every write of a fan).
FAN_SEARCH_TEXT = (
    Fan.name.concat(literal_column("' '"))
    .concat(func.coalesce(Fan.handle, literal_column("''")))
    .concat(literal_column("' '"))
    .concat(Fan.platform_fan_id)
)
MESSAGE_IS_TIP = Message.tip_cents > literal_column("0")
MESSAGE_IS_PURCHASE = Message.ppv_paid.is_(literal_column("true"))
MESSAGE_IS_OFFER = and_(
    Message.direction == literal_column(f"'{Direction.outbound.value}'"),
    Message.ppv_price_cents.is_not(None),
)
MESSAGE_IS_UNPAID_OFFER = and_(
    MESSAGE_IS_OFFER,
    or_(Message.ppv_paid.is_(None), Message.ppv_paid.is_(literal_column("false"))),
)
# When a purchase counts: its payment, or its offer when stored without a payment time.
MESSAGE_PAID_AT = func.coalesce(Message.paid_at, Message.sent_at)
DRAFT_IS_NUDGE = Draft.kind.in_([literal_column(f"'{kind}'") for kind in sorted(NUDGE_KINDS)])
DRAFT_IS_APPROVED = Draft.status == literal_column(f"'{DraftStatus.approved.value}'")
DRAFT_IS_REJECTED = Draft.status == literal_column(f"'{DraftStatus.rejected.value}'")


class DraftFeedback(Base):
    """What an approval did to a draft's text: the variant it started from, the text that
    was approved, and the edit distance between them. Holds message text, like drafts."""

    __tablename__ = "draft_feedback"
    label: ClassVar[str] = "draft feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("drafts.id", ondelete="CASCADE"), unique=True)
    variant: Mapped[int | None]
    original_text: Mapped[str] = mapped_column(Text)
    final_text: Mapped[str] = mapped_column(Text)
    edit_distance: Mapped[int]
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AiUsage(Base):
    """One drafting call: the account it drafted for, the operator who asked (a redraft;
    None for the drafting jobs), whether the LLM was asked, what answered and the tokens
    it spent. Daily token caps, operators' hourly LLM requests and the analytics' tokens
    per day are counted from these rows."""

    __tablename__ = "ai_usage"
    __table_args__ = (
        Index("ix_ai_usage_account_at", "account_id", "at"),
        Index("ix_ai_usage_actor_at", "actor", "at"),
    )
    label: ClassVar[str] = "ai usage"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    actor: Mapped[str | None] = mapped_column(String(200))
    llm_called: Mapped[bool]
    provider: Mapped[str] = mapped_column(String(100))
    model: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)
    fallback_reason: Mapped[str | None] = mapped_column(String(500))


class Send(Base):
    """One message to type into a conversation: the outbox row behind every send job."""

    __tablename__ = "sends"
    __table_args__ = (
        # The delivered PPVs that drafts became, the only sends a fan can buy: what the
        # drafts learn sells (`core.review.learning`).
        Index("ix_sends_drafted_ppvs", "account_id", **_where(_DRAFTED_PPV_SQL)),
    )
    label: ClassVar[str] = "send"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    draft_id: Mapped[int | None] = mapped_column(
        ForeignKey("drafts.id", ondelete="SET NULL"), unique=True
    )
    text: Mapped[str] = mapped_column(Text)
    ppv_price_cents: Mapped[int | None]
    # Vault ids of the media the message carries (a PPV's content), attached in order.
    media: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[SendStatus] = mapped_column(
        _enum(SendStatus), default=SendStatus.queued, index=True
    )
    priority: Mapped[SendPriority] = mapped_column(_enum(SendPriority))
    attempt: Mapped[int] = mapped_column(default=1)
    # The attempts the send was given, and how many of them failed. Attempts lost through
    # no fault of the send (a dead worker, a throttle, stepping aside) count in `attempt`
    # only, so the budget never grows.
    max_attempts: Mapped[int] = mapped_column(default=3)
    failed_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    worker_id: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    typing_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    platform_message_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    artifacts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    # A queued retry waits until then (backoff); None means as soon as possible.
    next_attempt_at: Mapped[datetime | None]
    # Set when an attempt died in flight: the next claim must read the thread from here.
    verify_since: Mapped[datetime | None]
    # Bulk sends only: when it was handed to the workers (one per account at a time).
    released_at: Mapped[datetime | None]
    # The campaign variant the send carries, for a campaign's sends (`core.outbox.campaigns`).
    campaign_variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("campaign_variants.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    account: Mapped[Account] = relationship()
    conversation: Mapped[Conversation] = relationship()


# The condition of `ix_sends_drafted_ppvs`, for queries (see `DRAFT_IS_PENDING`).
SEND_IS_DRAFTED_PPV = and_(
    Send.status == literal_column(f"'{SendStatus.delivered.value}'"),
    Send.draft_id.is_not(None),
    Send.ppv_price_cents.is_not(None),
)


class Sweep(Base):
    """One scrape of an account's inbox."""

    __tablename__ = "sweeps"
    label: ClassVar[str] = "sweep"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[SweepStatus] = mapped_column(
        _enum(SweepStatus), default=SweepStatus.queued, index=True
    )
    requested_by: Mapped[str] = mapped_column(String(200))
    # Bumped when a dead worker's run is recovered or a throttled one deferred, so the
    # new run gets a fresh job id.
    attempt: Mapped[int] = mapped_column(default=1)
    # A deferred run waits until then (the platform's backoff); None: as soon as possible.
    next_attempt_at: Mapped[datetime | None]
    worker_id: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Messages stored for this sweep over all its attempts, counted by ingest.
    messages_found: Mapped[int] = mapped_column(default=0)
    conversations_read: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    artifacts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    account: Mapped[Account] = relationship()


class AuditEvent(Base):
    """Who or what did what to which row. Never holds message text or credentials."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id"),)
    label: ClassVar[str] = "audit event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[int]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ApiKey(Base):
    """An API key: only its sha256 is stored; the prefix finds the row without a scan."""

    __tablename__ = "api_keys"
    label: ClassVar[str] = "api key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    prefix: Mapped[str] = mapped_column(String(20), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # None: the key works until revoked.
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class User(Base):
    """A person who signs in to the console (`core.people`): only an argon2 hash of the
    password is stored. The role is an API key's: admin or operator."""

    __tablename__ = "users"
    label: ClassVar[str] = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when an admin turns the user off: they sign in no more, their sessions end.
    disabled_at: Mapped[datetime | None]


class ConsoleSession(Base):
    """A signed-in browser: only the sha256 of its cookie's token is stored, with the token
    its forms must carry (CSRF). It ends at `expires_at`, or when signed out."""

    __tablename__ = "console_sessions"
    label: ClassVar[str] = "console session"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(lazy="joined")


class Segment(Base):
    """A saved fan filter (`core.crm.segments`), named. The filter is stored as the JSON the
    fan list reads (`core.crm.fan_list.FanFilter`), checked when it is read: a filter that
    no longer holds (a rule tightened since) shows what is wrong instead of failing."""

    __tablename__ = "segments"
    label: ClassVar[str] = "segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    filter: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Campaign(Base):
    """A message sent to a segment's fans or to a list of fans, now or at `send_at`, in
    one or more variants (`core.outbox.campaigns`)."""

    __tablename__ = "campaigns"
    label: ClassVar[str] = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[CampaignStatus] = mapped_column(
        _enum(CampaignStatus), default=CampaignStatus.scheduled, index=True
    )
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id", ondelete="SET NULL"))
    # The fans it goes to when no segment says: fan ids.
    fan_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    send_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    launched_at: Mapped[datetime | None]
    # A wall-clock time ("2026-12-04T20:00:00") each account's fans get the campaign at, in
    # the account's zone; `send_at` is then when the first zone reaches it.
    local_send_at: Mapped[str | None] = mapped_column(String(19))
    # The accounts whose fans it was sent to so far: all of them at once, or zone by zone.
    launched_accounts: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    # Why it could not launch, and when: `failed` before any account was reached; midway
    # through its zones, it runs on for the accounts it reached.
    failure: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None]

    variants: Mapped[list[CampaignVariant]] = relationship(
        order_by="CampaignVariant.id", cascade="all, delete-orphan", lazy="selectin"
    )


class CampaignVariant(Base):
    """One version of a campaign's message and the share of its fans who get it; what it
    targeted and why fans were skipped, counted at launch."""

    __tablename__ = "campaign_variants"
    label: ClassVar[str] = "campaign variant"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), index=True
    )
    # What the variant is called in results: "A", "B"...
    name: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    ppv_price_cents: Mapped[int | None]
    media: Mapped[list[str]] = mapped_column(JSON, default=list)
    share: Mapped[int]
    targeted: Mapped[int] = mapped_column(default=0)
    # Fans the gate (or the CRM) left out at launch, counted by reason.
    skipped: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
