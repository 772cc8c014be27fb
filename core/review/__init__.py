"""Drafts, from written to decided.

A draft is written for an inbound message or a fan's silence (`writing`, `nudges`) with
the drafter the AI budgets allow (`budgets`), waits in the approval queue in priority
order (`core.priority`, `listing`), and is claimed for a while (`claims`), approved into
a send or rejected by an operator (`decisions`), whose edits are measured (`feedback`);
the messages that worked and the reasons for rejections teach the next drafts
(`learning`). `jobs` are what the `ai` queue runs.
"""

from core.priority import Standing
from core.review.budgets import BudgetStatus, CapReached, Scope
from core.review.claims import Claim, live_claim
from core.review.decisions import (
    BulkOutcome,
    approve_draft,
    approve_many,
    claim_draft,
    claim_holder,
    claims_ran_out,
    reject_draft,
    release_draft,
)
from core.review.listing import QueuedDraft, list_drafts, queue_version, queued_draft
from core.review.nudges import QueuedPass, queue_pass, run_nudges
from core.review.writing import create_draft_for_message, redraft_draft, write_draft

__all__ = [
    "BudgetStatus",
    "BulkOutcome",
    "CapReached",
    "Claim",
    "QueuedDraft",
    "QueuedPass",
    "Scope",
    "Standing",
    "approve_draft",
    "approve_many",
    "claim_draft",
    "claim_holder",
    "create_draft_for_message",
    "list_drafts",
    "live_claim",
    "queue_pass",
    "claims_ran_out",
    "queue_version",
    "queued_draft",
    "redraft_draft",
    "reject_draft",
    "release_draft",
    "run_nudges",
    "write_draft",
]
