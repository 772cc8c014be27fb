"""Keeping the fleet whole: the reconcile pass that makes Redis agree with the database
(`reconcile`), taking back what dead workers left and failing what live ones dropped
(`abandoned`), work failing now (`failures`), and whether the fleet is healthy
(`health`)."""

from core.recovery.abandoned import find_abandoned, recover_send, recover_sweep
from core.recovery.failures import FailingWork, error_class, failing_work
from core.recovery.health import FleetStatus, fleet_status
from core.recovery.reconcile import ReconcileReport, interval_s, reconcile, run_reconciler

__all__ = [
    "FailingWork",
    "FleetStatus",
    "ReconcileReport",
    "error_class",
    "failing_work",
    "find_abandoned",
    "fleet_status",
    "interval_s",
    "reconcile",
    "recover_send",
    "recover_sweep",
    "run_reconciler",
]
