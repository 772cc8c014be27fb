"""The approval policy: whether a draft may go out without a human. Pure: no database, no
clock, no I/O.

Auto-send is off by default. An account that turns it on (`Account.auto_send`) sends a
draft by policy only when every condition holds:

- its confidence is at least `confidence_threshold`; for a sales kind (`ppv_offer`) the
  lower of the text's confidence and the kind detector's, since a well-written offer the
  detector was unsure of is a sale the fan may not have asked for;
- it offers no PPV priced at or above `ppv_price_threshold_cents`;
- the fan is not in the top spend tier (those fans are worth a human's minute);
- the content filter and the wellbeing guard found nothing;
- a nudge (`follow_up`, `re_engage`) only when the account also opted into `nudges`.

Anything else is queued for an operator, with every failed condition as a reason.

The policy also holds the account's other per-fan rules: the daily spend cap above which
no PPV is offered (`core.guardrails.offers`), and whether and when the nudge pass
(`core.review.nudges`) drafts a follow-up or a re-engagement. Nudges are off by default: a
message the fan did not ask for is sent only on an account that opted into it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from core.drafting.fan import SpendTier
from core.enums import NUDGE_KINDS, DraftKind
from core.guardrails.wellbeing import SALES_KINDS

AUTO_SEND_OFF = "auto_send_off"
LOW_CONFIDENCE = "confidence_below_threshold"
PRICEY_PPV = "ppv_at_or_above_threshold"
TOP_TIER = "top_tier_fan"
NUDGES_OFF = "nudges_off"


class ApprovalPolicy(BaseModel):
    """An account's approval settings and per-fan rules, stored as JSON on the account;
    every field has a default. `disclosure` is appended to every message an approved draft
    becomes."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    confidence_threshold: int = Field(
        default=80, ge=0, le=100, description="Lowest confidence auto-send may send."
    )
    ppv_price_threshold_cents: int = Field(
        default=5_000,
        ge=0,
        le=10_000_000,
        description="A PPV priced at or above this (cents) always waits for a human.",
    )
    response_target_s: float = Field(
        default=300.0,
        gt=0,
        le=7 * 24 * 3600,
        description="A fan waiting longer than this (seconds, unscaled) jumps the queue.",
    )
    disclosure: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="A line appended to AI-drafted messages on approval; none when unset.",
    )
    daily_token_cap: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000_000,
        description="LLM tokens the account may spend per UTC day before its drafts are "
        "written offline; unset: the fleet's per-account default.",
    )

    daily_spend_cap_cents: int | None = Field(
        default=None,
        gt=0,
        le=10_000_000,
        description="No PPV is offered to a fan whose last 24 hours of tips, paid PPVs (by "
        "when they were paid) and PPVs offered but not paid, plus the offer's price, would "
        "be above this (cents); unset: no cap.",
    )
    sweep_every_s: float | None = Field(
        default=None,
        ge=60,
        le=7 * 24 * 3600,
        description="How often the scheduler sweeps the account's inbox (seconds, unscaled); "
        "unset: the fleet's FLEET_SWEEP_EVERY_S.",
    )
    nudges: bool = Field(
        default=False,
        description="Whether the nudge pass drafts follow-ups and re-engagements (off unless "
        "the account opts in; auto-send sends them only when it is on too).",
    )
    follow_up_after_h: float = Field(
        default=24.0,
        gt=0,
        le=30 * 24,
        description="Hours (wall clock) our last message may go unanswered before a "
        "follow_up is drafted; no nudge of either kind comes sooner after our message.",
    )
    re_engage_after_days: float = Field(
        default=7.0,
        gt=0,
        le=365,
        # Checked when left at its default too: a follow_up_after_h past it is a conflict.
        validate_default=True,
        description="Days (wall clock) a fan may stay silent before a re_engage is drafted.",
    )

    # A field validator, not a model one, so the error's location names the field; it sees
    # follow_up_after_h, declared before it, in `info.data`.
    @field_validator("re_engage_after_days")
    @classmethod
    def _re_engage_after_follow_up(cls, days: float, info: ValidationInfo) -> float:
        # Absent when follow_up_after_h itself was invalid: that error is reported already.
        hours = info.data.get("follow_up_after_h")
        if hours is not None and days * 24 <= hours:
            raise ValueError(
                f"{days:g} days must be longer than follow_up_after_h ({hours:g} hours), or "
                "no follow-up would ever be drafted"
            )
        return days


class Route(StrEnum):
    """Where a draft goes: out at once, or into the operators' queue."""

    auto_send = "auto_send"
    queue = "queue"


@dataclass(frozen=True)
class Candidate:
    """What the policy reads of a draft. `block_reasons` are the content filter's and the
    wellbeing guard's (`filter:<rule>`, `guard:<signal>`); `confidence` is None when the
    drafter gave none, `kind_confidence` (the kind detector's) when no detector ran."""

    confidence: int | None
    ppv_price_cents: int | None
    fan_tier: SpendTier
    block_reasons: tuple[str, ...] = ()
    kind: str = DraftKind.reply
    kind_confidence: int | None = None

    @property
    def effective_confidence(self) -> int | None:
        """The confidence the threshold applies to: for a sales kind, the lower of the
        text's and the detector's (None, unknown, when either is)."""
        if self.kind not in SALES_KINDS:
            return self.confidence
        if self.confidence is None or self.kind_confidence is None:
            return None
        return min(self.confidence, self.kind_confidence)


@dataclass(frozen=True)
class Decision:
    """The route and, for a queued draft, every condition that kept it from auto-send."""

    route: Route
    reasons: tuple[str, ...]


def decide(policy: ApprovalPolicy, auto_send: bool, candidate: Candidate) -> Decision:
    """Route `candidate` under `policy` on an account whose auto-send is `auto_send`."""
    reasons: list[str] = []
    if not auto_send:
        reasons.append(AUTO_SEND_OFF)
    confidence = candidate.effective_confidence
    if confidence is None or confidence < policy.confidence_threshold:
        reasons.append(LOW_CONFIDENCE)
    price = candidate.ppv_price_cents
    if price is not None and price >= policy.ppv_price_threshold_cents:
        reasons.append(PRICEY_PPV)
    if candidate.fan_tier == SpendTier.top:
        reasons.append(TOP_TIER)
    reasons.extend(candidate.block_reasons)
    if candidate.kind in NUDGE_KINDS and not policy.nudges:
        reasons.append(NUDGES_OFF)
    return Decision(route=Route.queue if reasons else Route.auto_send, reasons=tuple(reasons))
