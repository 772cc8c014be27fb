"""What the queues hold: jobs by state per queue and how long the oldest has waited, for
`/health`, `GET /v1/fleet` and the fleet's health reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis import Redis
from rq import Queue
from rq.job import Job
from rq.rate_limit import RateLimitRegistry
from rq.registry import ScheduledJobRegistry, StartedJobRegistry

from core.clock import as_utc
from core.fleet.queues import QueueName


def queue_depths(redis: Redis) -> dict[str, int]:
    """Jobs waiting per queue."""
    return {q.value: Queue(q.value, connection=redis).count for q in QueueName}


@dataclass(frozen=True)
class QueueStats:
    """What one queue holds. `queued` jobs wait for a worker, `rate_limited` ones for their
    account's slot, `scheduled` ones (retries) for their time; `started` ones run."""

    queued: int
    rate_limited: int
    scheduled: int
    started: int
    oldest_waiting_at: datetime | None

    @property
    def waiting(self) -> int:
        """Jobs that could run now but have not started: queued or rate-limited."""
        return self.queued + self.rate_limited


def queue_stats(redis: Redis) -> dict[str, QueueStats]:
    """Per queue: jobs by state and when the oldest waiting job was created."""
    queues = {q.value: Queue(q.value, connection=redis) for q in QueueName}
    waiting_ids = {name: queue.job_ids for name, queue in queues.items()}
    held: list[str] = []
    for registry in RateLimitRegistry.all(redis):
        held.extend(registry.get_rate_limited_job_ids())
    rate_limited = dict.fromkeys(queues, 0)
    oldest: dict[str, datetime] = {}
    all_ids = [job_id for ids in waiting_ids.values() for job_id in ids] + held
    held_ids = set(held)
    # One round trip per job would make this O(n) requests; fetch_many pipelines them.
    for job in Job.fetch_many(all_ids, connection=redis):
        if job is None or job.origin not in queues:
            continue
        if job.id in held_ids:
            rate_limited[job.origin] += 1
        created = as_utc(job.created_at)
        if job.origin not in oldest or created < oldest[job.origin]:
            oldest[job.origin] = created
    return {
        name: QueueStats(
            queued=len(waiting_ids[name]),
            rate_limited=rate_limited[name],
            scheduled=ScheduledJobRegistry(queue=queue).count,
            started=StartedJobRegistry(queue=queue).count,
            oldest_waiting_at=oldest.get(name),
        )
        for name, queue in queues.items()
    }
