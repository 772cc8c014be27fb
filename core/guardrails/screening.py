"""Whether one message may reach a fan: the content filter over its text, the wellbeing
guard over the fan, and for a PPV the offers check. Pure: the caller reads the fan
(`core.crm.fans`) and applies the verdict (`core.outbox.gate`, the one way a send is made).

A verdict names every rule that fired, each once, as `filter:<rule>`, `guard:<signal>` and
`offer:<why>`: what an operator is shown, what the audit log keeps, and what an admin's
override answers for.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.drafting.persona import Persona
from core.guardrails import content_filter, offers
from core.guardrails.policy import ApprovalPolicy
from core.guardrails.wellbeing import GuardResult

# What a verdict's reasons start with, by the guardrail that gave them.
FILTER = "filter"
GUARD = "guard"
OFFER = "offer"


@dataclass(frozen=True)
class Verdict:
    """What the guardrails found; a message with no reasons may be sent."""

    reasons: tuple[str, ...]
    checks: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        """Whether nothing fired."""
        return not self.reasons


def screen_message(
    text: str,
    *,
    persona: Persona,
    policy: ApprovalPolicy,
    guard: GuardResult,
    committed: offers.Committed,
    ppv_price_cents: int | None,
) -> Verdict:
    """Run every guardrail that applies to `text` going to a fan the `guard` assessed,
    with `committed` money in the spend cap's window; `checks` names the ones that ran."""
    hits = content_filter.check(text, persona.forbidden_words).hits
    reasons = [f"{FILTER}:{hit.rule}" for hit in hits]
    reasons += [f"{GUARD}:{name}" for name in guard.names()]
    checks = ["content_filter", "wellbeing_guard"]
    if ppv_price_cents is not None:
        checks.append("offers")
        barred = offers.why_barred(policy, guard, committed, ppv_price_cents)
        if barred is not None:
            reasons.append(f"{OFFER}:{barred}")
    return Verdict(reasons=tuple(dict.fromkeys(reasons)), checks=tuple(checks))
