"""The health report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class Check(BaseModel):
    ok: bool
    error: str | None = None


class Workers(BaseModel):
    count: int
    names: list[str]


class HeldAccount(BaseModel):
    """An account whose jobs are held until an operator acts (paused, needs a login)."""

    id: int
    name: str
    status: str


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Check
    redis: Check
    queues: dict[str, int]
    workers: Workers
    held_accounts: list[HeldAccount] = []
