"""What the reconciler keeps in Redis about itself: since when it has known this Redis,
and when its last pass ran."""

from __future__ import annotations

from datetime import datetime

from redis import Redis

from core.settings import Settings


def reconciler_key(settings: Settings, name: str) -> str:
    """The Redis key of one of the reconciler's own records."""
    return f"{settings.redis_key_prefix}reconciler:{name}"


def _read_time(redis: Redis, key: str) -> datetime | None:
    raw = redis.get(key)
    if raw is None:
        return None
    return datetime.fromisoformat(raw.decode() if isinstance(raw, bytes) else raw)


def redis_known_since(redis: Redis, settings: Settings, now: datetime, *, mark: bool) -> datetime:
    """Since when this Redis has held the fleet's state, as first seen by a reconciler.

    A missing lease proves a dead worker only if Redis did not just lose it: after a flush
    or an empty restart every lease is gone while its worker still types. Recovery waits
    one lease TTL after Redis is first seen, long enough for a live worker's renewal to
    find its lease lost and stop. `mark` records `now` when nothing is recorded yet.
    """
    key = reconciler_key(settings, "redis_since")
    if mark:
        redis.set(key, now.isoformat(), nx=True)
    return _read_time(redis, key) or now


def mark_pass(redis: Redis, settings: Settings, now: datetime) -> None:
    """Record that a pass ran at `now`."""
    redis.set(reconciler_key(settings, "last_pass"), now.isoformat())


def last_pass(redis: Redis, settings: Settings) -> datetime | None:
    """When the last pass ran against this Redis, or None when none has."""
    return _read_time(redis, reconciler_key(settings, "last_pass"))
