"""The browser worker's only way to the control plane: HTTP with a worker key.

Connection errors and 5xx answers are retried with backoff, so a control plane restart
does not fail the job in hand; 4xx answers are raised at once as `ControlPlaneError`.
"""

from __future__ import annotations

import random
import time
from typing import TypeVar

import httpx
from loguru import logger
from pydantic import BaseModel

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
from workers.errors import ControlPlaneError

M = TypeVar("M", bound=BaseModel)


class ControlPlaneClient:
    """Typed calls to `/v1/worker/*`."""

    def __init__(
        self, base_url: str, token: str, attempts: int = 8, backoff_s: float = 0.25
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )
        self._attempts = attempts
        self._backoff_s = backoff_s

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: BaseModel | None = None) -> httpx.Response:
        payload = body.model_dump(mode="json") if body is not None else None
        last_error = ""
        for attempt in range(1, self._attempts + 1):
            try:
                response = self._http.request(method, path, json=payload)
            except httpx.TransportError as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    if response.status_code >= 400:
                        raise ControlPlaneError(
                            f"{method} {path} -> {response.status_code}: {response.text[:500]}",
                            response.status_code,
                        )
                    return response
                last_error = f"HTTP {response.status_code}"
            delay = self._backoff_s * (2 ** (attempt - 1)) * (0.5 + random.random())
            logger.bind(path=path, attempt=attempt, error=last_error).warning(
                "control plane unavailable, retrying"
            )
            time.sleep(min(delay, 10.0))
        raise ControlPlaneError(
            f"{method} {path} failed after {self._attempts} tries: {last_error}"
        )

    def _model(self, model: type[M], method: str, path: str, body: BaseModel | None = None) -> M:
        return model.model_validate(self._call(method, path, body).json())

    def _model_unless_conflict(
        self, model: type[M], method: str, path: str, body: BaseModel | None = None
    ) -> M | None:
        # 409 is the control plane saying "not this one, not now": finished, or held.
        try:
            return self._model(model, method, path, body)
        except ControlPlaneError as exc:
            if exc.status_code == 409:
                return None
            raise

    def start_sweep(self, sweep_id: int, worker_id: str) -> SweepPlan | None:
        """Mark a sweep running and get what the worker needs to run it; None when it is not
        to run now (finished, or its account is held)."""
        return self._model_unless_conflict(
            SweepPlan,
            "POST",
            f"/v1/worker/sweeps/{sweep_id}/start",
            SweepStart(worker_id=worker_id),
        )

    def finish_sweep(self, sweep_id: int, result: SweepResult) -> None:
        """Report a sweep's outcome."""
        self._call("POST", f"/v1/worker/sweeps/{sweep_id}/result", result)

    def sweep_throttled(self, sweep_id: int, report: ThrottleReport) -> None:
        """Hand a throttled sweep back to run again after its backoff (not a failure)."""
        self._call("POST", f"/v1/worker/sweeps/{sweep_id}/throttled", report)

    def ingest(self, batch: IngestBatch) -> IngestResult:
        """Push scraped messages; the control plane ignores ones it already holds."""
        return self._model(IngestResult, "POST", "/v1/worker/ingest", batch)

    def claim_send(
        self, send_id: int, worker_id: str, attempt: int | None = None
    ) -> SendTicket | None:
        """Claim a send for an attempt; None when it is no longer to be sent by this job
        (delivered, cancelled, queued again as a later attempt...)."""
        return self._model_unless_conflict(
            SendTicket,
            "POST",
            f"/v1/worker/sends/{send_id}/claim",
            SendClaim(worker_id=worker_id, attempt=attempt),
        )

    def send_progress(self, send_id: int, progress: SendProgress) -> None:
        """Record that a send moved to typing or submitted."""
        self._call("POST", f"/v1/worker/sends/{send_id}/progress", progress)

    def send_result(self, send_id: int, result: SendResult) -> None:
        """Report a send as delivered or failed."""
        self._call("POST", f"/v1/worker/sends/{send_id}/result", result)

    def send_throttled(self, send_id: int, report: ThrottleReport) -> None:
        """Hand a throttled send back to wait out its backoff (not a failed attempt)."""
        self._call("POST", f"/v1/worker/sends/{send_id}/throttled", report)

    def account_secrets(self, account_id: int, worker_id: str) -> AccountSecrets:
        """The account's credentials and saved session; this worker must hold its lease."""
        return self._model(
            AccountSecrets,
            "POST",
            f"/v1/worker/accounts/{account_id}/secrets",
            LeaseHolder(worker_id=worker_id),
        )

    def login_rejected(self, account_id: int, report: LoginRejected) -> None:
        """Tell the control plane the account needs a login; the job in hand is held."""
        self._call("POST", f"/v1/worker/accounts/{account_id}/login-rejected", report)

    def heartbeat(self, beat: WorkerHeartbeat) -> None:
        """Report this worker alive; one try, since the next beat follows in seconds."""
        response = self._http.post("/v1/worker/heartbeat", json=beat.model_dump(mode="json"))
        response.raise_for_status()

    def store_session(self, account_id: int, storage_state: dict) -> None:
        """Save an account's browser session so any worker can pick it up."""
        self._call(
            "PUT",
            f"/v1/worker/accounts/{account_id}/session",
            SessionState(storage_state=storage_state),
        )
