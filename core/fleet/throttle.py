"""What the fleet does when a platform says "slow down": back off, fleet-wide.

Each signal is recorded per account in Redis; the account's pacer then grants nothing for
an exponentially growing, jittered backoff (base · 2^(n-1), capped), so every worker and
every job source stops at once. The count of signals in the window is returned so the
control plane can pause the account for an operator after `pause_after` of them.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass

from loguru import logger
from redis import Redis

from core.fleet.pacing import Pacer
from core.platform.profiles import ThrottleProfile

JITTER = (0.8, 1.2)


@dataclass(frozen=True)
class ThrottleEvent:
    """One recorded signal: how many in the window so far and the backoff it caused."""

    account_id: int
    signals_in_window: int
    backoff_s: float

    def needs_operator(self, profile: ThrottleProfile) -> bool:
        """Whether this many signals pause the account until an operator resumes it."""
        return self.signals_in_window >= profile.pause_after


class ThrottleTracker:
    """Records throttle signals and pauses the account's pacer for the backoff."""

    def __init__(
        self, redis: Redis, key_prefix: str, time_scale: float, rng: random.Random | None = None
    ) -> None:
        self._redis = redis
        self._key_prefix = key_prefix
        self._time_scale = time_scale
        self._pacer = Pacer(redis, key_prefix, time_scale)
        self._rng = rng or random.Random()

    def _key(self, account_id: int) -> str:
        return f"{self._key_prefix}throttle:account:{account_id}"

    def record(self, account_id: int, profile: ThrottleProfile) -> ThrottleEvent:
        """Record a signal now; pause the account for the backoff it earns."""
        window = profile.window_s * self._time_scale
        now = time.time()
        key = self._key(account_id)
        with self._redis.pipeline() as pipe:
            pipe.zadd(key, {uuid.uuid4().hex: now})
            pipe.zremrangebyscore(key, "-inf", now - window)
            pipe.zcard(key)
            pipe.expire(key, max(1, int(window) + 1))
            count = int(pipe.execute()[2])
        backoff = min(profile.backoff_max_s, profile.backoff_base_s * 2 ** (count - 1))
        backoff_s = backoff * self._rng.uniform(*JITTER) * self._time_scale
        self._pacer.pause(account_id, backoff_s)
        logger.bind(account_id=account_id, signals=count, backoff_s=round(backoff_s, 3)).warning(
            "platform throttled the account; backing off"
        )
        return ThrottleEvent(account_id, count, backoff_s)
