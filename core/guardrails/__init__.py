"""What may reach a fan, as rules: the content filter over text, the fan-wellbeing guard,
the offers check for a PPV, and the approval policy that says which drafts may go out
without a human. `screening` runs the first three over one message.

Pure: the rules read what they are given. The fan's state comes from `core.crm.fans`, and
the one place every send passes them is `core.outbox.gate`.
"""

from core.guardrails.content_filter import FilterHit, ScreenedVariant, check, screen_variant
from core.guardrails.offers import Committed, KindDecision, OfferTerms, why_barred
from core.guardrails.policy import ApprovalPolicy, Candidate, Decision, Route, decide
from core.guardrails.screening import Verdict, screen_message
from core.guardrails.wellbeing import GuardResult, GuardSignal

__all__ = [
    "ApprovalPolicy",
    "Candidate",
    "Committed",
    "Decision",
    "FilterHit",
    "GuardResult",
    "GuardSignal",
    "KindDecision",
    "OfferTerms",
    "Route",
    "ScreenedVariant",
    "Verdict",
    "check",
    "decide",
    "screen_message",
    "screen_variant",
    "why_barred",
]
