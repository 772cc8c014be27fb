"""A worker killed hard in the middle of a send: the send still ends delivered exactly
once — retyped when the text never made it, verified (not retyped) when it did."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from datetime import timedelta

import pytest
from playwright.sync_api import Page

from core.clock import utcnow
from core.db import Database
from core.recovery.reconcile import reconcile
from tests.helpers.fleet import LONG_TEXT, Fleet, queued_send, start_worker, wait_for_status
from workers.browser import BrowserEvent, events_in_log
from workers.resources import descendants


def _recover_and_run(fleet: Fleet, send_id: int, timeout_s: float = 60) -> None:
    """Reconciler passes, as if a lease TTL had passed since the send's last move, until it
    recovers the send (once the dead worker's lease expires); then a worker runs it."""
    database = Database(fleet.settings.database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while fleet.get(f"/v1/sends/{send_id}")["status"] != "delivered":
            assert time.monotonic() < deadline, "the send was never recovered"
            with database.session() as session:
                report = reconcile(
                    session, fleet.redis, fleet.settings, now=utcnow() + timedelta(seconds=30)
                )
            if report.sends_recovered or report.sends_enqueued or report.sends_promoted:
                fleet.run_browser_worker()
            else:
                time.sleep(0.2)
    finally:
        database.dispose()


def test_killed_while_typing_the_send_is_retyped_once(fleet: Fleet) -> None:
    account, send_id = queued_send(fleet, "killed")
    worker = start_worker(fleet, time_scale=0.2)
    wait_for_status(fleet, send_id, "typing")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert fleet.sandbox.delivered(account) == []

    _recover_and_run(fleet, send_id)

    send = fleet.get(f"/v1/sends/{send_id}")
    assert send["status"] == "delivered", send
    assert [m.text for m in fleet.sandbox.delivered(account)] == [LONG_TEXT]


def test_a_dead_workers_delivered_send_is_verified_not_retyped(fleet: Fleet, page: Page) -> None:
    account, send_id = queued_send(fleet, "ghost")
    worker = {"Authorization": f"Bearer {fleet.api.worker_key}"}
    claimed = fleet.operator.post(
        f"/v1/worker/sends/{send_id}/claim", headers=worker, json={"worker_id": "ghost"}
    )
    assert claimed.status_code == 200, claimed.text
    conversation = claimed.json()["platform_conversation_id"]
    for step in ("typing", "submitted"):
        fleet.operator.post(
            f"/v1/worker/sends/{send_id}/progress",
            headers=worker,
            json={"worker_id": "ghost", "status": step},
        ).raise_for_status()
    # The ghost got the message out, then died before it could report.
    thread = fleet.sandbox.profile.thread
    fleet.sandbox.login(page, account, fleet.sandbox.thread_url(conversation))
    page.click(thread.composer)
    page.keyboard.type(LONG_TEXT, delay=5)
    page.click(thread.send)
    [ghost_message] = fleet.sandbox.until_delivered(account)

    _recover_and_run(fleet, send_id)

    send = fleet.get(f"/v1/sends/{send_id}")
    assert send["status"] == "delivered", send
    assert send["platform_message_id"] == ghost_message.message_id
    assert [m.text for m in fleet.sandbox.delivered(account)] == [LONG_TEXT], "sent twice"


@pytest.mark.mechanics
def test_a_crashed_browser_is_relaunched_and_its_send_retried(fleet: Fleet) -> None:
    account, send_id = queued_send(fleet, "crash")
    worker = start_worker(fleet, time_scale=0.2)
    database = Database(fleet.settings.database_url)
    try:
        wait_for_status(fleet, send_id, "typing")
        for pid in descendants(worker.pid):
            # Chromium dies under the worker's feet; a helper may go with its parent first.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 90
        while fleet.get(f"/v1/sends/{send_id}")["status"] != "delivered":
            assert time.monotonic() < deadline, "the send was not retried after the crash"
            assert worker.poll() is None, "the worker died with its browser"
            with database.session() as session:
                reconcile(session, fleet.redis, fleet.settings)  # promotes the due retry
            time.sleep(0.2)
    finally:
        database.dispose()
        os.killpg(worker.pid, signal.SIGTERM)
        _, stderr = worker.communicate(timeout=60)
    kinds = [event.kind for event in events_in_log(stderr)]
    assert kinds == [BrowserEvent.launched, BrowserEvent.relaunched, BrowserEvent.launched]
    assert [m.text for m in fleet.sandbox.delivered(account)] == [LONG_TEXT]
    assert fleet.get(f"/v1/sends/{send_id}")["attempt"] == 2
