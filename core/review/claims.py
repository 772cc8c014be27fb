"""A review claim: the lock an operator takes on a draft while reading it. A claim lives
until its expiry or its release; one that ran out unreleased is still on the row, and holds
nobody back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.models import Draft


@dataclass(frozen=True)
class Claim:
    """Who holds a draft, and until when."""

    holder: str
    expires_at: datetime


def live_claim(draft: Draft, now: datetime) -> Claim | None:
    """The claim on `draft` that still lives at `now`, or None."""
    if draft.claimed_by is None or draft.claim_expires_at is None:
        return None
    if draft.claim_expires_at <= now:
        return None
    return Claim(draft.claimed_by, draft.claim_expires_at)
