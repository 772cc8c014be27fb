"""The job functions RQ runs in a browser worker: scrape a sweep, type a send.

Both take row ids only; everything else comes from the control plane, which stays the
source of truth for what to do and records what was done.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from loguru import logger

from core.clock import as_utc
from core.enums import SendStatus, SweepStatus
from core.fleet.metrics import THROTTLE_EVENTS, count
from core.fleet.protocol import (
    IngestBatch,
    LoginRejected,
    ScrapedConversation,
    ScrapedMessage,
    SendProgress,
    SendResult,
    SweepResult,
    ThrottleReport,
)
from core.fleet.throttle import ThrottleTracker
from core.platform.typing_plan import plan_typing, seed_for
from workers.errors import AccountBusy, JobFailed, LoginFailed, Throttled
from workers.runtime import current

# The platform stamps messages with its own clock; allow it to run this far behind ours
# when looking for a message an earlier attempt may have sent.
PLATFORM_CLOCK_SKEW = timedelta(seconds=30)


def is_new(last_message_at: datetime | None, known: datetime | None) -> bool:
    """Whether a conversation whose newest message is at `last_message_at` (None: the page
    did not say) has something newer than `known`, the newest the control plane holds.
    Both are read in UTC: comparing a naive time with an aware one would raise."""
    return known is None or last_message_at is None or as_utc(last_message_at) > as_utc(known)


def since_known(messages: list[ScrapedMessage], known: datetime | None) -> list[ScrapedMessage]:
    """The messages sent at or after `known` (all of them when nothing is known)."""
    if known is None:
        return messages
    return [m for m in messages if as_utc(m.sent_at) >= as_utc(known)]


def scrape_job(sweep_id: int, account_id: int) -> dict[str, int]:
    """Walk the account's inbox, read every conversation with something new since the
    last sweep, and push its new messages to the control plane in batches. The outcome is
    reported while the account's lease is still held."""
    rt = current()
    log = logger.bind(sweep_id=sweep_id, account_id=account_id, worker=rt.worker_id)
    plan = rt.control.start_sweep(sweep_id, rt.worker_id)
    if plan is None:
        log.info("sweep not to run now (finished, or its account is held)")
        return {"messages_found": 0, "conversations_read": 0}
    done = {"messages_found": 0, "conversations_read": 0}

    def report_failure(exc: JobFailed | AccountBusy) -> None:
        cause = exc.__cause__
        if isinstance(cause, LoginFailed) and isinstance(exc, JobFailed):
            _hold_for_login(account_id, exc, sweep_id=sweep_id)
            return
        if isinstance(cause, Throttled):
            report = _record_throttle(account_id, plan.account.profile, str(cause))
            rt.control.sweep_throttled(sweep_id, report)
            return
        rt.control.finish_sweep(
            sweep_id,
            SweepResult(
                status=SweepStatus.failed,
                error=str(exc),
                artifacts=getattr(exc, "artifacts", {}),
                **done,
            ),
        )

    timings: dict[str, dict[str, float]] = {}
    listed = 0
    try:
        with rt.account_session(plan.account, f"sweep-{sweep_id}", report_failure) as driver:
            started = time.perf_counter()
            batch: list[ScrapedConversation] = []

            def flush() -> None:
                with driver.timings.measure("ingest"):
                    rt.control.ingest(
                        IngestBatch(account_id=account_id, sweep_id=sweep_id, conversations=batch)
                    )
                batch.clear()

            rows = driver.list_conversations()
            listed = len(rows)
            recheck = set(plan.recheck)
            if plan.unpaid:
                # One page says which offers were bought: only their threads are read again.
                bought = [m for m in driver.bought_messages() if m in plan.unpaid]
                recheck.update(plan.unpaid[message_id] for message_id in bought)
            fresh = [
                row
                for row in rows
                if row.conversation_id in recheck
                or is_new(row.last_message_at, plan.known_last_message_at.get(row.conversation_id))
            ]
            log.bind(conversations=len(rows), fresh=len(fresh), recheck=len(recheck)).info(
                "inbox read"
            )
            for row in fresh:
                driver.open_thread(row.conversation_id)
                # A thread read again for its unpaid offers is sent whole: ingest dedupes,
                # and records a purchase on a message it already holds.
                known = (
                    None
                    if row.conversation_id in recheck
                    else plan.known_last_message_at.get(row.conversation_id)
                )
                messages = since_known(driver.read_thread(), known)
                done["conversations_read"] += 1
                done["messages_found"] += len(messages)
                batch.append(
                    ScrapedConversation(
                        platform_conversation_id=row.conversation_id,
                        platform_fan_id=row.fan_id,
                        fan_name=row.fan_name,
                        fan_handle=row.fan_handle,
                        messages=messages,
                    )
                )
                if len(batch) >= rt.settings.ingest_batch_size:
                    flush()
            if batch:
                flush()
            rt.control.finish_sweep(sweep_id, SweepResult(status=SweepStatus.done, **done))
            driver.timings.add("sweep", time.perf_counter() - started)
            timings = driver.timings.summary()
    except AccountBusy as exc:
        report_failure(exc)
        raise
    except JobFailed as exc:
        if isinstance(exc.__cause__, LoginFailed | Throttled):
            return done
        raise
    log.bind(
        messages=done["messages_found"],
        conversations=done["conversations_read"],
        listed=listed,
        timings=timings,
    ).info("sweep done")
    return done


def _record_throttle(account_id: int, profile_name: str, signal: str) -> ThrottleReport:
    """Back the account off fleet-wide for the platform's "slow down" (its pacer grants
    nothing until the backoff ends) and the report telling the control plane so."""
    rt = current()
    event = ThrottleTracker(rt.redis, rt.settings.redis_key_prefix, rt.settings.time_scale).record(
        account_id, rt.profile(profile_name).throttle
    )
    count(rt.redis, rt.settings.redis_key_prefix, THROTTLE_EVENTS)
    logger.bind(account_id=account_id, backoff_s=round(event.backoff_s, 3)).warning(
        "platform throttled the account; its work waits out the backoff"
    )
    return ThrottleReport(
        worker_id=rt.worker_id,
        signal=signal,
        backoff_s=event.backoff_s,
        signals_in_window=event.signals_in_window,
    )


def _hold_for_login(
    account_id: int, exc: JobFailed, send_id: int | None = None, sweep_id: int | None = None
) -> None:
    rt = current()
    rt.control.login_rejected(
        account_id,
        LoginRejected(
            worker_id=rt.worker_id, send_id=send_id, sweep_id=sweep_id, artifacts=exc.artifacts
        ),
    )
    logger.bind(account_id=account_id, send_id=send_id, sweep_id=sweep_id).warning(
        "the platform rejected the account's credentials; its jobs are held for an operator"
    )


def send_job(send_id: int, account_id: int, attempt: int | None = None) -> str:
    """Claim a send for the attempt this job was queued for, pace, type it like a person,
    confirm it on the page and report, while the account's lease is still held.

    A send an earlier attempt may have typed is first looked for in the thread, and only
    typed again when it is not there."""
    rt = current()
    log = logger.bind(send_id=send_id, account_id=account_id, worker=rt.worker_id)
    ticket = rt.control.claim_send(send_id, rt.worker_id, attempt)
    if ticket is None:
        log.info("send no longer wanted, skipping")
        return "skipped"
    access = ticket.account
    label = f"send-{send_id}-a{ticket.attempt}"

    def report(status: SendStatus, **fields: object) -> None:
        rt.control.send_result(
            send_id,
            SendResult(worker_id=rt.worker_id, status=status, **fields),  # type: ignore[arg-type]
        )

    def report_failure(exc: JobFailed | AccountBusy) -> None:
        cause = exc.__cause__
        if isinstance(cause, LoginFailed) and isinstance(exc, JobFailed):
            _hold_for_login(account_id, exc, send_id=send_id)
        elif isinstance(cause, Throttled):
            rt.control.send_throttled(
                send_id, _record_throttle(account_id, access.profile, str(cause))
            )
        else:
            artifacts = getattr(exc, "artifacts", {})
            report(SendStatus.failed, error=str(exc), retryable=True, artifacts=artifacts)

    try:
        with rt.account_session(access, label, report_failure) as driver:
            driver.open_thread(ticket.platform_conversation_id)
            if ticket.verify:
                since = (ticket.typing_started_at or ticket.claimed_at) - PLATFORM_CLOCK_SKEW
                already = driver.find_sent(ticket.text, since)
                if already is not None:
                    log.bind(message_id=already).info("send verified on the page, not retyped")
                    report(SendStatus.delivered, platform_message_id=already)
                    return "verified"
            rt.control.send_progress(
                send_id, SendProgress(worker_id=rt.worker_id, status=SendStatus.typing)
            )
            plan = plan_typing(
                ticket.text,
                # Loaded by the session already: a missing profile failed it there.
                rt.profile(access.profile).typing,
                seed_for("send", send_id, ticket.attempt),
                inbound_chars=ticket.inbound_chars,
            )
            message_id = driver.send(
                plan,
                ticket.ppv_price_cents,
                before_submit=lambda: rt.control.send_progress(
                    send_id, SendProgress(worker_id=rt.worker_id, status=SendStatus.submitted)
                ),
                media=ticket.media,
            )
            report(SendStatus.delivered, platform_message_id=message_id)
    except AccountBusy as exc:
        report_failure(exc)
        raise
    except JobFailed as exc:
        if isinstance(exc.__cause__, LoginFailed):
            return "held"
        if isinstance(exc.__cause__, Throttled):
            return "throttled"
        raise
    log.bind(message_id=message_id, chars=len(ticket.text)).info("send delivered")
    return "delivered"
