"""`/v1/worker/*`: the browser workers' side. An account's credentials and session leave
the server in one place, `POST /accounts/{id}/secrets`, to the worker holding its lease."""

from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import IdPath, RedisDep, SessionDep, SettingsDep, WorkerDep
from api.schemas.sends import SendOut
from api.schemas.sweeps import SweepOut
from core.crm import accounts, ingest, sweeps
from core.crypto import keyring
from core.fleet.heartbeats import store_heartbeat
from core.fleet.protocol import (
    AccountSecrets,
    IngestBatch,
    IngestResult,
    LeaseHolder,
    LoginRejected,
    SendClaim,
    SendProgress,
    SendResult,
    SendTicket,
    SessionState,
    SweepPlan,
    SweepResult,
    SweepStart,
    ThrottleReport,
    WorkerHeartbeat,
)
from core.outbox import holds, sends

router = APIRouter(prefix="/v1/worker", tags=["worker"])


@router.post("/sweeps/{sweep_id:int}/start", response_model=SweepPlan)
def start_sweep(
    sweep_id: IdPath,
    body: SweepStart,
    session: SessionDep,
    settings: SettingsDep,
    principal: WorkerDep,
) -> SweepPlan:
    """Mark a sweep running; get the account, the newest message time known per
    conversation, and the conversations to read again for unpaid offers."""
    return sweeps.start_sweep(session, settings, sweep_id, body, key_name=principal.name)


@router.post("/sweeps/{sweep_id:int}/result", response_model=SweepOut)
def finish_sweep(
    sweep_id: IdPath,
    body: SweepResult,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: WorkerDep,
) -> SweepOut:
    """Report a sweep done or failed."""
    return SweepOut.model_validate(
        sweeps.finish_sweep(session, redis, settings, sweep_id, body, key_name=principal.name)
    )


@router.post("/sweeps/{sweep_id:int}/throttled", response_model=SweepOut)
def sweep_throttled(
    sweep_id: IdPath,
    body: ThrottleReport,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: WorkerDep,
) -> SweepOut:
    """Report that the platform throttled a sweep: it runs again after the backoff, and
    repeated throttling pauses the account for an operator."""
    return SweepOut.model_validate(
        sweeps.defer_throttled_sweep(
            session, redis, settings, sweep_id, body, key_name=principal.name
        )
    )


@router.post("/ingest", response_model=IngestResult)
def ingest_batch(
    body: IngestBatch, session: SessionDep, redis: RedisDep, principal: WorkerDep
) -> IngestResult:
    """Store scraped messages; ones already held count as duplicates."""
    return ingest.ingest_batch(session, redis, body, actor=principal.name)


@router.post("/sends/{send_id:int}/claim", response_model=SendTicket)
def claim_send(
    send_id: IdPath,
    body: SendClaim,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: WorkerDep,
) -> SendTicket:
    """Claim a send to type it; `verify` says an earlier attempt may have typed it. 409
    while another worker that claimed it still holds the account's lease."""
    return sends.claim_send(session, redis, settings, send_id, body, key_name=principal.name)


@router.post("/sends/{send_id:int}/progress", response_model=SendOut)
def send_progress(
    send_id: IdPath, body: SendProgress, session: SessionDep, principal: WorkerDep
) -> SendOut:
    """Move a claimed send forward to typing or submitted."""
    return SendOut.model_validate(
        sends.record_progress(session, send_id, body, key_name=principal.name)
    )


@router.post("/sends/{send_id:int}/result", response_model=SendOut)
def send_result(
    send_id: IdPath,
    body: SendResult,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: WorkerDep,
) -> SendOut:
    """Report a send delivered or failed; a retryable failure queues the next attempt."""
    return SendOut.model_validate(
        sends.record_result(session, redis, settings, send_id, body, key_name=principal.name)
    )


@router.post("/sends/{send_id:int}/throttled", response_model=SendOut)
def send_throttled(
    send_id: IdPath,
    body: ThrottleReport,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: WorkerDep,
) -> SendOut:
    """Report that the platform throttled a send: it waits out the backoff without using
    an attempt, and repeated throttling pauses the account for an operator."""
    return SendOut.model_validate(
        sends.defer_throttled(session, redis, settings, send_id, body, key_name=principal.name)
    )


@router.post("/accounts/{account_id:int}/login-rejected", status_code=status.HTTP_204_NO_CONTENT)
def login_rejected(
    account_id: IdPath, body: LoginRejected, session: SessionDep, principal: WorkerDep
) -> None:
    """Report that the platform rejected the account's credentials: the account needs a
    login, and the reporting worker's send or sweep is held until an operator fixes it."""
    holds.hold_for_login(session, account_id, body, key_name=principal.name)


@router.post("/accounts/{account_id:int}/secrets", response_model=AccountSecrets)
def account_secrets(
    account_id: IdPath,
    body: LeaseHolder,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    principal: WorkerDep,
) -> AccountSecrets:
    """The account's credentials and saved browser session, for the worker that holds the
    account's lease (audited); 409 for any other."""
    return accounts.account_secrets(
        session, redis, settings, account_id, body.worker_id, actor=principal.name
    )


@router.put("/accounts/{account_id:int}/session", status_code=status.HTTP_204_NO_CONTENT)
def store_session_state(
    account_id: IdPath,
    body: SessionState,
    session: SessionDep,
    settings: SettingsDep,
    principal: WorkerDep,
) -> None:
    """Save the account's browser session (sealed) for every worker to reuse."""
    accounts.store_session_state(
        session, keyring(settings), account_id, body.storage_state, actor=principal.name
    )


@router.post("/heartbeat", status_code=status.HTTP_204_NO_CONTENT)
def heartbeat(
    body: WorkerHeartbeat, redis: RedisDep, settings: SettingsDep, _principal: WorkerDep
) -> None:
    """Report that a worker is alive and what it is doing; kept in Redis for a short TTL."""
    store_heartbeat(redis, settings, body)
