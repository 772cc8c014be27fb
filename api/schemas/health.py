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


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Check
    redis: Check
    queues: dict[str, int]
    workers: Workers
