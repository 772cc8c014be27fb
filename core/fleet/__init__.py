"""Moving work to the browser workers, over Redis: the queues and their jobs, repairs to
jobs RQ mishandles, rows turned into jobs, the per-account lease and pacer, the throttle
backoff, the worker protocol and heartbeats.

Transport only: nothing here opens the database, so browser workers, which must not,
import from here freely.
"""

from core.fleet.dispatch import (
    QueuedRow,
    QueuedSend,
    dispatch_draft,
    dispatch_send,
    dispatch_sweep,
)
from core.fleet.heartbeats import WorkerSeen, heartbeat_ttl_s, live_workers, store_heartbeat
from core.fleet.lease import MIN_WINDOW_S, AccountLease, LeaseKeeper, held_accounts, lease_ttl_s
from core.fleet.pacing import Pacer, PacingStatus, PacingTimeout
from core.fleet.queue_stats import QueueStats, queue_depths, queue_stats
from core.fleet.queues import LinePlace, QueueName
from core.fleet.throttle import ThrottleEvent, ThrottleTracker

__all__ = [
    "MIN_WINDOW_S",
    "AccountLease",
    "LeaseKeeper",
    "LinePlace",
    "Pacer",
    "PacingStatus",
    "PacingTimeout",
    "QueueName",
    "QueueStats",
    "QueuedSend",
    "QueuedRow",
    "ThrottleEvent",
    "ThrottleTracker",
    "WorkerSeen",
    "dispatch_draft",
    "dispatch_send",
    "dispatch_sweep",
    "heartbeat_ttl_s",
    "held_accounts",
    "lease_ttl_s",
    "live_workers",
    "queue_depths",
    "queue_stats",
    "store_heartbeat",
]
