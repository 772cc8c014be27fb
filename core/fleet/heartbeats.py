"""Worker heartbeats: what each browser worker reports every few seconds, kept in Redis
for a short TTL (never in the database: it is transient, and a dead worker's disappears by
itself). The control plane reads them for `GET /v1/workers` and to tell a live worker from
a dead one."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from redis import Redis

from core.clock import utcnow
from core.fleet.lease import MIN_WINDOW_S
from core.fleet.protocol import WorkerHeartbeat
from core.settings import Settings

_HEARTBEAT_INFIX = "heartbeat:worker:"


def heartbeat_ttl_s(settings: Settings) -> float:
    """How long a heartbeat counts, in real seconds; workers should beat three times as
    often."""
    return max(settings.scaled(settings.heartbeat_ttl_s), MIN_WINDOW_S)


@dataclass(frozen=True)
class WorkerSeen:
    """A worker's latest heartbeat and when the control plane received it."""

    heartbeat: WorkerHeartbeat
    seen_at: datetime


def store_heartbeat(
    redis: Redis, settings: Settings, beat: WorkerHeartbeat, now: datetime | None = None
) -> None:
    """Keep a worker's heartbeat in Redis until it goes stale."""
    payload = {"heartbeat": beat.model_dump(mode="json"), "seen_at": (now or utcnow()).isoformat()}
    redis.set(
        f"{settings.redis_key_prefix}{_HEARTBEAT_INFIX}{beat.worker_id}",
        json.dumps(payload),
        px=round(heartbeat_ttl_s(settings) * 1000),
    )


def live_workers(redis: Redis, settings: Settings) -> list[WorkerSeen]:
    """Every worker with a current heartbeat, by worker id."""
    prefix = f"{settings.redis_key_prefix}{_HEARTBEAT_INFIX}"
    escaped = "".join(f"\\{char}" if char in "*?[]\\" else char for char in prefix)
    keys = list(redis.scan_iter(match=escaped + "*", count=500))
    if not keys:
        return []
    seen = []
    # A heartbeat that expired between SCAN and MGET reads None and is skipped.
    for raw in redis.mget(keys):
        if raw is None:
            continue
        payload = json.loads(raw)
        seen.append(
            WorkerSeen(
                heartbeat=WorkerHeartbeat.model_validate(payload["heartbeat"]),
                seen_at=datetime.fromisoformat(payload["seen_at"]),
            )
        )
    return sorted(seen, key=lambda worker: worker.heartbeat.worker_id)
