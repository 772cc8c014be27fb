"""Every way a browser worker's job can go wrong, in one place: what the platform did, what
the control plane said, and what the worker itself cannot do. Jobs (`workers.jobs`) turn
each into its report: a retry, a held account, a throttle backoff, a failure."""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """The worker cannot start with these settings; the message says what to fix."""


class LoginFailed(RuntimeError):
    """The platform rejected the account's credentials."""


class SessionLost(RuntimeError):
    """The platform logged the account out and logging in again did not hold."""


class Throttled(RuntimeError):
    """The platform showed its slow-down signal; nothing was sent."""


class PlatformError(RuntimeError):
    """The page did not behave as the profile says it should."""


class ControlPlaneError(RuntimeError):
    """The control plane refused a request (4xx) or stayed unreachable."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AccountBusy(RuntimeError):
    """Another worker holds the account's lease; this job must not drive it."""


class LeaseLost(RuntimeError):
    """The account's lease expired or was taken while this job drove it."""


class JobFailed(RuntimeError):
    """A job failed; `artifacts` says where its screenshot and trace are."""

    def __init__(self, message: str, artifacts: dict[str, str]) -> None:
        super().__init__(message)
        self.artifacts = artifacts
