"""The approval policy: whether a draft may go out without a human. Pure: no database, no
clock, no I/O.

Auto-send is off by default. An account that turns it on (`Account.auto_send`) sends a
draft by policy only when every condition holds:

- its confidence is at least `confidence_threshold`;
- it offers no PPV priced at or above `ppv_price_threshold_cents`;
- the fan is not in the top spend tier (those fans are worth a human's minute);
- the content filter and the wellbeing guard found nothing.

Anything else is queued for an operator, with every failed condition as a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from core.drafting.fan import SpendTier

AUTO_SEND_OFF = "auto_send_off"
LOW_CONFIDENCE = "confidence_below_threshold"
PRICEY_PPV = "ppv_at_or_above_threshold"
TOP_TIER = "top_tier_fan"


class ApprovalPolicy(BaseModel):
    """An account's approval settings, stored as JSON on the account; every field has a
    default. `disclosure` is appended to every message an approved draft becomes."""

    model_config = ConfigDict(extra="forbid")

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


class Route(StrEnum):
    """Where a draft goes: out at once, or into the operators' queue."""

    auto_send = "auto_send"
    queue = "queue"


@dataclass(frozen=True)
class Candidate:
    """What the policy reads of a draft. `block_reasons` are the content filter's and the
    wellbeing guard's (`filter:<rule>`, `guard:<signal>`); `confidence` is None when the
    drafter gave none."""

    confidence: int | None
    ppv_price_cents: int | None
    fan_tier: SpendTier
    block_reasons: tuple[str, ...] = ()


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
    if candidate.confidence is None or candidate.confidence < policy.confidence_threshold:
        reasons.append(LOW_CONFIDENCE)
    price = candidate.ppv_price_cents
    if price is not None and price >= policy.ppv_price_threshold_cents:
        reasons.append(PRICEY_PPV)
    if candidate.fan_tier == SpendTier.top:
        reasons.append(TOP_TIER)
    reasons.extend(candidate.block_reasons)
    return Decision(route=Route.queue if reasons else Route.auto_send, reasons=tuple(reasons))
