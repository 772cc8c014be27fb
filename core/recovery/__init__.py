"""Keeping the fleet whole: the reconcile pass that makes Redis agree with the database
(`reconcile`), taking back what dead workers left (`abandoned`), and whether the fleet is
healthy (`health`)."""

from core.recovery.abandoned import find_abandoned, recover_send, recover_sweep
from core.recovery.health import FleetStatus, fleet_status
from core.recovery.reconcile import ReconcileReport, interval_s, reconcile, run_reconciler

__all__ = [
    "FleetStatus",
    "ReconcileReport",
    "find_abandoned",
    "fleet_status",
    "interval_s",
    "reconcile",
    "recover_send",
    "recover_sweep",
    "run_reconciler",
]
