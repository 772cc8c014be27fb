"""The approval policy: each auto-send condition, and its failure, decides the route."""

from __future__ import annotations

from dataclasses import replace

import pytest
from pydantic import ValidationError

from core.drafting.fan import SpendTier
from core.guardrails.policy import (
    AUTO_SEND_OFF,
    LOW_CONFIDENCE,
    NUDGES_OFF,
    PRICEY_PPV,
    TOP_TIER,
    ApprovalPolicy,
    Candidate,
    Decision,
    Route,
    decide,
)

DEFAULTS = ApprovalPolicy()
CLEAN = Candidate(confidence=90, ppv_price_cents=None, fan_tier=SpendTier.mid)
# A PPV under the price threshold that the writer and the detector were both sure of.
OFFER = replace(CLEAN, ppv_price_cents=2_000, kind="ppv_offer", kind_confidence=95)
NUDGES_ON = ApprovalPolicy(nudges=True)

CASES: list[tuple[str, bool, Candidate, ApprovalPolicy, tuple[str, ...]]] = [
    # id, auto_send, candidate, policy, reasons (none: auto-send)
    ("all-hold", True, CLEAN, DEFAULTS, ()),
    ("auto-send-off", False, CLEAN, DEFAULTS, (AUTO_SEND_OFF,)),
    ("confidence-at-threshold", True, replace(CLEAN, confidence=80), DEFAULTS, ()),
    ("confidence-below", True, replace(CLEAN, confidence=79), DEFAULTS, (LOW_CONFIDENCE,)),
    ("confidence-unknown", True, replace(CLEAN, confidence=None), DEFAULTS, (LOW_CONFIDENCE,)),
    (
        "own-threshold",
        True,
        replace(CLEAN, confidence=79),
        ApprovalPolicy(confidence_threshold=70),
        (),
    ),
    ("ppv-below", True, replace(CLEAN, ppv_price_cents=4_999), DEFAULTS, ()),
    # A sales kind is only as sure as the detector that called it one.
    ("offer-both-sure", True, OFFER, DEFAULTS, ()),
    ("offer-detector-at", True, replace(OFFER, kind_confidence=80), DEFAULTS, ()),
    (
        "offer-detector-unsure",
        True,
        replace(OFFER, kind_confidence=40),
        DEFAULTS,
        (LOW_CONFIDENCE,),
    ),
    (
        "offer-detector-unknown",
        True,
        replace(OFFER, kind_confidence=None),
        DEFAULTS,
        (LOW_CONFIDENCE,),
    ),
    ("offer-text-unsure", True, replace(OFFER, confidence=79), DEFAULTS, (LOW_CONFIDENCE,)),
    # Only a sales kind: a reply the detector was unsure about is judged by its text.
    ("reply-detector-unsure", True, replace(CLEAN, kind_confidence=40), DEFAULTS, ()),
    (
        "offer-detector-own-threshold",
        True,
        replace(OFFER, kind_confidence=40),
        ApprovalPolicy(confidence_threshold=40),
        (),
    ),
    # A nudge goes out alone only on an account that opted into nudges and auto-send.
    ("follow-up-nudges-off", True, replace(CLEAN, kind="follow_up"), DEFAULTS, (NUDGES_OFF,)),
    ("re-engage-nudges-off", True, replace(CLEAN, kind="re_engage"), DEFAULTS, (NUDGES_OFF,)),
    ("follow-up-nudges-on", True, replace(CLEAN, kind="follow_up"), NUDGES_ON, ()),
    (
        "nudge-auto-send-off",
        False,
        replace(CLEAN, kind="re_engage"),
        NUDGES_ON,
        (AUTO_SEND_OFF,),
    ),
    ("reply-nudges-off", True, replace(CLEAN, kind="tip_thanks"), DEFAULTS, ()),
    ("ppv-at", True, replace(CLEAN, ppv_price_cents=5_000), DEFAULTS, (PRICEY_PPV,)),
    ("ppv-above", True, replace(CLEAN, ppv_price_cents=20_000), DEFAULTS, (PRICEY_PPV,)),
    (
        "ppv-own-threshold",
        True,
        replace(CLEAN, ppv_price_cents=1_000),
        ApprovalPolicy(ppv_price_threshold_cents=1_000),
        (PRICEY_PPV,),
    ),
    ("no-spend-fan", True, replace(CLEAN, fan_tier=SpendTier.none), DEFAULTS, ()),
    ("top-tier-fan", True, replace(CLEAN, fan_tier=SpendTier.top), DEFAULTS, (TOP_TIER,)),
    (
        "filter-hit",
        True,
        replace(CLEAN, block_reasons=("filter:phone_number",)),
        DEFAULTS,
        ("filter:phone_number",),
    ),
    (
        "guard-signal",
        True,
        replace(CLEAN, block_reasons=("guard:distress",)),
        DEFAULTS,
        ("guard:distress",),
    ),
    (
        "every-failure",
        False,
        Candidate(
            confidence=10,
            ppv_price_cents=9_900,
            fan_tier=SpendTier.top,
            block_reasons=("filter:email", "guard:minor"),
        ),
        DEFAULTS,
        (AUTO_SEND_OFF, LOW_CONFIDENCE, PRICEY_PPV, TOP_TIER, "filter:email", "guard:minor"),
    ),
]


@pytest.mark.parametrize(
    ("auto_send", "candidate", "policy", "reasons"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_each_condition_decides_the_route(
    auto_send: bool, candidate: Candidate, policy: ApprovalPolicy, reasons: tuple[str, ...]
) -> None:
    route = Route.queue if reasons else Route.auto_send
    assert decide(policy, auto_send, candidate) == Decision(route=route, reasons=reasons)


def test_policy_defaults_and_bounds() -> None:
    assert DEFAULTS.model_dump() == {
        "confidence_threshold": 80,
        "ppv_price_threshold_cents": 5_000,
        "response_target_s": 300.0,
        "disclosure": None,
        "daily_token_cap": None,
        "daily_spend_cap_cents": None,
        "sweep_every_s": None,
        "nudges": False,
        "follow_up_after_h": 24.0,
        "re_engage_after_days": 7.0,
    }
    for bad in (
        {"confidence_threshold": 101},
        {"confidence_threshold": -1},
        {"ppv_price_threshold_cents": -1},
        {"response_target_s": 0},
        {"disclosure": ""},
        {"disclosure": "x" * 201},
        {"auto_send": True},
        {"daily_spend_cap_cents": 0},
        {"sweep_every_s": 59},
        {"follow_up_after_h": 0},
        {"re_engage_after_days": 366},
        # A re-engagement due no later than a follow-up would leave no room for one.
        {"follow_up_after_h": 48, "re_engage_after_days": 2},
    ):
        with pytest.raises(ValidationError):
            ApprovalPolicy.model_validate(bad)
