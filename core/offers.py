"""What a fan may be offered: the price of a PPV for them, and whether one may be offered
at all. Pure: no database, no clock.

A PPV offer's price is the persona's price list's for the fan's spend tier
(`core.drafting.base.PriceList`). No offer is drafted for a fan the wellbeing guard
flagged (`core.wellbeing.safe_kind`), nor for one whose spend in the last 24 hours plus
the offer's price would be above the account's daily spend cap
(`ApprovalPolicy.daily_spend_cap_cents`). Either way a detected `ppv_offer` is drafted as
a plain reply, without a price, and the draft says why (`KindDecision.withheld`).
"""

from __future__ import annotations

from dataclasses import dataclass

from core import wellbeing
from core.approval_policy import ApprovalPolicy
from core.drafting.base import DraftKind, Persona
from core.drafting.fan import SpendTier
from core.wellbeing import GuardResult

WELLBEING_GUARD = "wellbeing_guard"
DAILY_SPEND_CAP = "daily_spend_cap"


@dataclass(frozen=True)
class OfferTerms:
    """What a PPV would cost this fan now, and why none may be offered (None: it may)."""

    price_cents: int
    barred: str | None

    @property
    def spend_capped(self) -> bool:
        """Whether it is the daily spend cap that bars the offer."""
        return self.barred is not None and self.barred.startswith(DAILY_SPEND_CAP)


@dataclass(frozen=True)
class KindDecision:
    """The kind to draft, the suggested PPV price (a `ppv_offer` only), and why the
    detected kind was not drafted (None when it was)."""

    kind: str
    ppv_price_cents: int | None
    withheld: str | None


def offer_terms(
    persona: Persona,
    policy: ApprovalPolicy,
    tier: SpendTier,
    guard: GuardResult,
    spent_24h_cents: int,
) -> OfferTerms:
    """The terms of a PPV offer to a fan of `tier` who spent `spent_24h_cents` in the
    last 24 hours; the guard's flag bars it first, then the daily spend cap."""
    price = persona.ppv_prices.for_tier(tier)
    if guard.flagged:
        return OfferTerms(price, f"{WELLBEING_GUARD}: {', '.join(guard.names())}")
    cap = policy.daily_spend_cap_cents
    if cap is not None and spent_24h_cents + price > cap:
        return OfferTerms(
            price,
            f"{DAILY_SPEND_CAP}: {spent_24h_cents} cents spent in 24h + a {price} cent "
            f"offer is above the cap of {cap}",
        )
    return OfferTerms(price, None)


def decide_kind(detected: str, terms: OfferTerms, guard: GuardResult) -> KindDecision:
    """The kind to draft for a message detected as `detected`: a sales kind the terms bar
    becomes a plain reply, with the reason."""
    kind = wellbeing.safe_kind(detected, guard)
    if kind in wellbeing.SALES_KINDS and terms.barred is not None:
        kind = wellbeing.SAFE_KIND
    return KindDecision(
        kind=kind,
        ppv_price_cents=terms.price_cents if kind == DraftKind.ppv_offer else None,
        withheld=terms.barred if kind != detected else None,
    )
