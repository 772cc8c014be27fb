"""The fleet's vocabulary: the states and kinds rows are stored in and workers report.

They sit below everything else (the tables, the worker protocol, the domain packages all
read them) and import nothing, so a browser worker can speak of a send's status without
loading the database layer.
"""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """Who wrote a message: the fan (`inbound`) or the account (`outbound`)."""

    inbound = "inbound"
    outbound = "outbound"


class SendStatus(StrEnum):
    """Where a send is on its way: queued -> claimed -> typing -> submitted -> delivered,
    or failed (after its retries) or cancelled."""

    queued = "queued"
    claimed = "claimed"
    typing = "typing"
    submitted = "submitted"
    delivered = "delivered"
    failed = "failed"
    cancelled = "cancelled"


# A send in a worker's hands, in the order it moves through them.
IN_FLIGHT = (SendStatus.claimed, SendStatus.typing, SendStatus.submitted)
# A send that may still reach the fan: waiting for a worker, or in one's hands.
ON_ITS_WAY = (SendStatus.queued, *IN_FLIGHT)
# A send whose job has nothing left to do.
FINISHED = (SendStatus.delivered, SendStatus.failed, SendStatus.cancelled)


class SendPriority(StrEnum):
    """Where a send waits in its account's line: replies first, bulk sends last."""

    reply = "reply"
    direct = "direct"
    bulk = "bulk"


class CampaignStatus(StrEnum):
    """A campaign waits for its time (`scheduled`), sends (`running`), holds its sends not
    yet released (`paused`), was called off (`cancelled`), or could not launch (`failed`:
    its `failure` says why)."""

    scheduled = "scheduled"
    running = "running"
    paused = "paused"
    cancelled = "cancelled"
    failed = "failed"


class SweepStatus(StrEnum):
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"


class AccountStatus(StrEnum):
    """Whether an account's work runs: `needs_login` and `paused` hold it for an
    operator."""

    active = "active"
    needs_login = "needs_login"
    paused = "paused"


class DraftStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class DraftKind(StrEnum):
    """What a draft is for. `ppv_offer` is the one that sells; the wellbeing guard turns it
    into a plain `reply` for a fan it flags."""

    reply = "reply"
    ppv_offer = "ppv_offer"
    tip_thanks = "tip_thanks"
    follow_up = "follow_up"
    re_engage = "re_engage"


# Drafts that break a fan's silence rather than answer a message (`core.review.nudges`).
NUDGE_KINDS = frozenset({DraftKind.follow_up, DraftKind.re_engage})


class KindSource(StrEnum):
    """What decided a draft's kind: a fact (a tip came with the message, the nudge pass
    chose it), the offline heuristic, or the LLM's classification."""

    rule = "rule"
    heuristic = "heuristic"
    llm = "llm"


class Role(StrEnum):
    """What an API key may do: admins everything, operators the approval queue and sends,
    workers only `/v1/worker/*`."""

    admin = "admin"
    operator = "operator"
    worker = "worker"
