"""Whether a review claim lives: until its expiry, and never once released."""

from __future__ import annotations

from datetime import timedelta

from core.clock import utcnow
from core.models import Draft
from core.review.claims import Claim, live_claim

NOW = utcnow()


def _draft(holder: str | None, expires_in_s: float | None) -> Draft:
    expires = None if expires_in_s is None else NOW + timedelta(seconds=expires_in_s)
    return Draft(claimed_by=holder, claim_expires_at=expires)


def test_a_claim_lives_until_its_expiry() -> None:
    draft = _draft("mia", 30)
    assert live_claim(draft, NOW) == Claim("mia", NOW + timedelta(seconds=30))


def test_a_claim_is_gone_at_its_expiry_though_still_on_the_row() -> None:
    assert live_claim(_draft("mia", 0), NOW) is None
    assert live_claim(_draft("mia", -1), NOW) is None


def test_a_released_draft_has_no_claim() -> None:
    assert live_claim(_draft(None, None), NOW) is None
