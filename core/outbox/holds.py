"""Holding an account's work while it cannot be driven.

When the platform rejects an account's credentials the account is marked `needs_login`:
the job in hand goes back to the queue (a new attempt, which does not count against its
retries), nothing of the account is claimed or started, and the reconciler queues its
work again once an operator fixes the credentials and the account is active.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core import audit
from core.enums import IN_FLIGHT, AccountStatus, SweepStatus
from core.errors import InvalidState, get_or_raise
from core.fleet.protocol import LoginRejected
from core.models import Account, Send, Sweep
from core.outbox.sends import back_to_queue


def hold_for_login(
    session: Session, account_id: int, report: LoginRejected, *, key_name: str
) -> Account:
    """Mark the account `needs_login` and put the reporting worker's send or sweep back in
    the queue, held until the account is active again."""
    account = get_or_raise(session, Account, account_id, for_update=True)
    if account.status == AccountStatus.active:
        account.status = AccountStatus.needs_login
        audit.record(
            session,
            report.worker_id,
            "account.needs_login",
            "account",
            account.id,
            key=key_name,
            artifacts=report.artifacts,
        )
    if report.send_id is not None:
        _hold_send(session, account, report)
    if report.sweep_id is not None:
        _hold_sweep(session, account, report)
    session.commit()
    return account


def _hold_send(session: Session, account: Account, report: LoginRejected) -> None:
    send = get_or_raise(session, Send, report.send_id or 0, for_update=True)
    if send.account_id != account.id:
        raise InvalidState(f"send {send.id} is not account {account.id}'s")
    if send.status not in IN_FLIGHT or send.worker_id != report.worker_id:
        raise InvalidState(f"send {send.id} is not held by worker {report.worker_id!r}")
    back_to_queue(send)
    send.artifacts = report.artifacts
    audit.record(session, report.worker_id, "send.held", "send", send.id, reason="needs_login")


def _hold_sweep(session: Session, account: Account, report: LoginRejected) -> None:
    sweep = get_or_raise(session, Sweep, report.sweep_id or 0, for_update=True)
    if sweep.account_id != account.id:
        raise InvalidState(f"sweep {sweep.id} is not account {account.id}'s")
    if sweep.status != SweepStatus.running or sweep.worker_id != report.worker_id:
        raise InvalidState(f"sweep {sweep.id} is not run by worker {report.worker_id!r}")
    sweep.status = SweepStatus.queued
    sweep.worker_id = None
    sweep.started_at = None
    sweep.attempt += 1
    sweep.artifacts = report.artifacts
    audit.record(session, report.worker_id, "sweep.held", "sweep", sweep.id, reason="needs_login")
