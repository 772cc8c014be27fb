"""What a running sandbox app shares between requests."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from sandbox.config import SandboxConfig
from sandbox.db import Database
from sandbox.guards import ActionCounter, Guards


@dataclass
class SandboxState:
    """The app's config, database, guards currently in force, and request counts."""

    config: SandboxConfig
    db: Database
    guards: Guards
    actions: ActionCounter = field(default_factory=ActionCounter)


def state_of(request: Request) -> SandboxState:
    """The state of the app serving `request`."""
    state: SandboxState = request.app.state.sandbox
    return state
