"""Errors the sandbox's storage raises; the app answers them as JSON with their status."""

from __future__ import annotations


class SandboxError(Exception):
    """A request that cannot be served; `str(error)` is the message shown to the caller."""

    status_code = 400


class NotFound(SandboxError):
    """The named account, fan, conversation or message does not exist."""

    status_code = 404


class Conflict(SandboxError):
    """The request clashes with the current state (a taken username, a paid PPV)."""

    status_code = 409
