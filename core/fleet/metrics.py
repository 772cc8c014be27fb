"""Counters and histograms that many processes on many hosts add to, kept in Redis: a
browser worker records each job's duration and pacer wait, and each throttle, and the
control plane's `/metrics` reads them back (`core.metrics`).

Prometheus's own client keeps values in the process that counts them; a fleet's workers
come and go, so their counts live beside the queues. They reset with Redis, as a counter
may: Prometheus reads a drop as a restart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from redis import Redis

# Upper bounds (seconds) of the buckets: a job types for seconds to minutes, a pacer
# holds an action for up to its window.
JOB_BUCKETS: tuple[float, ...] = (1, 2.5, 5, 10, 30, 60, 120, 300, 600, math.inf)
PACER_BUCKETS: tuple[float, ...] = (0.1, 0.5, 1, 5, 10, 30, 60, 300, math.inf)

_COUNTERS = "metrics:counters"
# The kinds of browser job, and the names workers record under.
JOB_KINDS = ("send", "scrape")
JOB_SECONDS = "job_seconds"
PACER_SECONDS = "pacer_seconds"
THROTTLE_EVENTS = "throttle_events"


def _histogram_key(prefix: str, name: str, label: str) -> str:
    return f"{prefix}metrics:histogram:{name}:{label}"


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def observe(
    redis: Redis, prefix: str, name: str, label: str, value: float, buckets: Sequence[float]
) -> None:
    """Add `value` to histogram `name` under `label`: cumulative bucket counts, a sum and a
    count, in one round trip."""
    key = _histogram_key(prefix, name, label)
    with redis.pipeline(transaction=False) as pipe:
        for bound in buckets:
            if value <= bound:
                pipe.hincrby(key, f"le:{_le(bound)}", 1)
        pipe.hincrbyfloat(key, "sum", value)
        pipe.hincrby(key, "count", 1)
        pipe.execute()


def count(redis: Redis, prefix: str, name: str, amount: int = 1) -> None:
    """Add `amount` to counter `name`."""
    redis.hincrby(f"{prefix}{_COUNTERS}", name, amount)


def counters(redis: Redis, prefix: str) -> dict[str, int]:
    """Every counter's value."""
    raw = redis.hgetall(f"{prefix}{_COUNTERS}")
    return {_text(name): int(value) for name, value in raw.items()}


@dataclass(frozen=True)
class Histogram:
    """One label's histogram: cumulative counts per upper bound, the sum and the count."""

    label: str
    buckets: list[tuple[str, int]]
    sum: float
    count: int


def histograms(
    redis: Redis, prefix: str, name: str, labels: Sequence[str], buckets: Sequence[float]
) -> list[Histogram]:
    """Histogram `name` for each of `labels` (all zero when nothing was observed)."""
    found = []
    for label in labels:
        raw = {
            _text(k): _text(v)
            for k, v in redis.hgetall(_histogram_key(prefix, name, label)).items()
        }
        found.append(
            Histogram(
                label=label,
                buckets=[(_le(bound), int(raw.get(f"le:{_le(bound)}", 0))) for bound in buckets],
                sum=float(raw.get("sum", 0)),
                count=int(raw.get("count", 0)),
            )
        )
    return found


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def record_job(redis: Redis, prefix: str, kind: str, seconds: float, pacer_wait_s: float) -> None:
    """A browser job of `kind` took `seconds`, `pacer_wait_s` of them waiting for the
    pacer."""
    observe(redis, prefix, JOB_SECONDS, kind, seconds, JOB_BUCKETS)
    observe(redis, prefix, PACER_SECONDS, "all", pacer_wait_s, PACER_BUCKETS)
