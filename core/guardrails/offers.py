"""What a fan may be offered: the price of a PPV for them, and whether one may be offered
at all. Pure: no database, no clock.

A PPV offer's price is the persona's price list's for the fan's spend tier
(`core.drafting.base.PriceList`). No PPV is offered to a fan the wellbeing guard flagged
(`core.guardrails.wellbeing.safe_kind`), nor when the fan's committed money in the last 24 hours
plus the offer's price would be above the account's daily spend cap
(`ApprovalPolicy.daily_spend_cap_cents`). Committed money (`Committed`, read from the
database by `core.crm.fans`) is what the fan paid and what they were offered and have
not paid yet: an open offer is one click from being spent, so several offers each under
the cap cannot together take the fan past it. A detected `ppv_offer` the terms bar is
drafted as a plain reply, without a price, and the draft says why
(`KindDecision.withheld`); an approval or a send carrying a PPV that `why_barred` bars
is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.drafting.fan import SpendTier
from core.drafting.persona import Persona
from core.enums import DraftKind
from core.guardrails import wellbeing
from core.guardrails.policy import ApprovalPolicy
from core.guardrails.wellbeing import GuardResult

WELLBEING_GUARD = "wellbeing_guard"
DAILY_SPEND_CAP = "daily_spend_cap"


@dataclass(frozen=True)
class Committed:
    """A fan's money toward the daily spend cap over 24 hours: what they spent (tips, and
    PPVs by when they were paid) and the PPVs they were offered and have not paid."""

    spent_cents: int = 0
    open_offers_cents: int = 0

    @property
    def cents(self) -> int:
        """Everything the cap counts."""
        return self.spent_cents + self.open_offers_cents


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


def why_barred(
    policy: ApprovalPolicy, guard: GuardResult, committed: Committed, price_cents: int
) -> str | None:
    """Why a PPV priced `price_cents` may not be offered to a fan with `committed` money
    over 24 hours (None: it may); the guard's flag bars it first, then the daily spend
    cap, which bars it when the committed money plus the price is above the cap."""
    if guard.flagged:
        return f"{WELLBEING_GUARD}: {', '.join(guard.names())}"
    cap = policy.daily_spend_cap_cents
    if cap is not None and committed.cents + price_cents > cap:
        return (
            f"{DAILY_SPEND_CAP}: {committed.spent_cents} cents spent and "
            f"{committed.open_offers_cents} cents offered unpaid in 24h + a {price_cents} "
            f"cent offer is above the cap of {cap}"
        )
    return None


def offer_terms(
    persona: Persona,
    policy: ApprovalPolicy,
    tier: SpendTier,
    guard: GuardResult,
    committed: Committed,
) -> OfferTerms:
    """The terms of a PPV offer at the price list's price to a fan of `tier` with
    `committed` money over the last 24 hours (`why_barred`)."""
    price = persona.ppv_prices.for_tier(tier)
    return OfferTerms(price, why_barred(policy, guard, committed, price))


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
