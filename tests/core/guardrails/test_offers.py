"""The offer terms: the price of a PPV for a fan's tier, and whether the wellbeing guard or
the daily spend cap bars one."""

from __future__ import annotations

import pytest

from core.drafting.fan import SpendTier
from core.drafting.persona import Persona, PriceList
from core.guardrails.offers import (
    DAILY_SPEND_CAP,
    WELLBEING_GUARD,
    Committed,
    decide_kind,
    offer_terms,
)
from core.guardrails.policy import ApprovalPolicy
from core.guardrails.wellbeing import GuardResult, GuardSignal

CLEAN = GuardResult(signals=())
FLAGGED = GuardResult(signals=(GuardSignal(signal="distress", detail="message 1"),))
PERSONA_PRICES = Persona(ppv_prices=PriceList(none=500, low=1_000, mid=2_000, top=3_000))


def spent(cents: int) -> Committed:
    return Committed(spent_cents=cents)


# (detected kind, tier, guard, committed in 24h, cap) -> (kind, price, withheld reason prefix)
TERMS: list[
    tuple[str, SpendTier, GuardResult, Committed, int | None, str, int | None, str | None]
] = [
    ("ppv_offer", SpendTier.top, CLEAN, spent(0), None, "ppv_offer", 3_000, None),
    ("ppv_offer", SpendTier.none, CLEAN, spent(0), None, "ppv_offer", 500, None),
    (
        "ppv_offer",
        SpendTier.mid,
        FLAGGED,
        spent(0),
        None,
        "reply",
        None,
        f"{WELLBEING_GUARD}: distress",
    ),
    # At the cap is still within it; a cent above is not.
    ("ppv_offer", SpendTier.mid, CLEAN, spent(8_000), 10_000, "ppv_offer", 2_000, None),
    ("ppv_offer", SpendTier.mid, CLEAN, spent(8_001), 10_000, "reply", None, DAILY_SPEND_CAP),
    ("ppv_offer", SpendTier.top, CLEAN, spent(0), 2_999, "reply", None, DAILY_SPEND_CAP),
    # Offers sent and not paid count like money spent: offers cannot stack past the cap.
    ("ppv_offer", SpendTier.mid, CLEAN, Committed(0, 8_000), 10_000, "ppv_offer", 2_000, None),
    (
        "ppv_offer",
        SpendTier.mid,
        CLEAN,
        Committed(0, 8_001),
        10_000,
        "reply",
        None,
        DAILY_SPEND_CAP,
    ),
    (
        "ppv_offer",
        SpendTier.mid,
        CLEAN,
        Committed(4_000, 4_001),
        10_000,
        "reply",
        None,
        DAILY_SPEND_CAP,
    ),
    # The guard outranks the cap; kinds that do not sell pass either.
    ("ppv_offer", SpendTier.top, FLAGGED, spent(9_999), 100, "reply", None, WELLBEING_GUARD),
    ("reply", SpendTier.top, CLEAN, spent(9_999), 100, "reply", None, None),
    ("tip_thanks", SpendTier.top, FLAGGED, spent(0), None, "tip_thanks", None, None),
    ("follow_up", SpendTier.low, CLEAN, Committed(9_999, 9_999), 100, "follow_up", None, None),
]


@pytest.mark.parametrize(
    ("detected", "tier", "guard", "committed", "cap", "kind", "price", "withheld"), TERMS
)
def test_offer_terms_decide_the_kind(
    detected: str,
    tier: SpendTier,
    guard: GuardResult,
    committed: Committed,
    cap: int | None,
    kind: str,
    price: int | None,
    withheld: str | None,
) -> None:
    policy = ApprovalPolicy(daily_spend_cap_cents=cap)
    terms = offer_terms(PERSONA_PRICES, policy, tier, guard, committed)
    decided = decide_kind(detected, terms, guard)
    assert (decided.kind, decided.ppv_price_cents) == (kind, price)
    if withheld is None:
        assert decided.withheld is None
    else:
        assert decided.withheld is not None and decided.withheld.startswith(withheld)
