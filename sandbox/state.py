"""What a running sandbox app shares between requests."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from sandbox.config import SandboxConfig
from sandbox.db import Database
from sandbox.guards import Guards


@dataclass
class SandboxState:
    """The app's config, database and guards currently in force."""

    config: SandboxConfig
    db: Database
    guards: Guards


def state_of(request: Request) -> SandboxState:
    """The state of the app serving `request`."""
    state: SandboxState = request.app.state.sandbox
    return state
