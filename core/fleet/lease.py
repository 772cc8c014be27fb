"""One driver per account: a Redis lease with a TTL that its holder keeps renewing.

The lease key `{prefix}lease:account:{id}` holds the owner's id (for example a worker's
host and pid). A holder that dies stops renewing and the key expires, so the account is
never locked for longer than the TTL. Renewal and release check the value first, in Lua, so
a holder whose lease expired and was taken over can never extend or delete the new one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError

from core.settings import Settings

# The shortest window trusted to real clocks and Redis round trips, however small the time
# scale: no lease TTL, heartbeat TTL or recovery grace is shorter.
MIN_WINDOW_S = 2.0

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_LEASE_INFIX = "lease:account:"


def lease_ttl_s(settings: Settings) -> float:
    """The account lease TTL, in real seconds: the one workers take and the reconciler
    waits out."""
    return max(settings.scaled(settings.lease_ttl_s), MIN_WINDOW_S)


def lease_key(key_prefix: str, account_id: int) -> str:
    """The Redis key of an account's lease."""
    return f"{key_prefix}{_LEASE_INFIX}{account_id}"


def _text(value: bytes | str) -> str:
    """A Redis reply as text, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else value


def holder(redis: Redis, key_prefix: str, account_id: int) -> str | None:
    """The owner currently holding the account's lease, or None."""
    value = redis.get(lease_key(key_prefix, account_id))
    return None if value is None else _text(value)


def _glob_escape(text: str) -> str:
    """`text` with Redis MATCH pattern characters escaped, so a prefix matches literally."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)


def held_by(redis: Redis, key_prefix: str, account_id: int, owner: str | None) -> bool | None:
    """Whether `owner` holds the account's lease right now; None when Redis cannot say.
    The control plane records it with a job's report: a job reports before it releases its
    lease, so a report from a worker without the lease is one that came too late."""
    try:
        return owner is not None and holder(redis, key_prefix, account_id) == owner
    except RedisError:
        return None


def held_accounts(redis: Redis, key_prefix: str) -> dict[int, str]:
    """Every leased account and its holder (SCAN: does not block Redis on large keyspaces)."""
    pattern = _glob_escape(f"{key_prefix}{_LEASE_INFIX}") + "*"
    keys = [_text(key) for key in redis.scan_iter(match=pattern, count=500)]
    if not keys:
        return {}
    start = len(key_prefix) + len(_LEASE_INFIX)
    held: dict[int, str] = {}
    # MGET after SCAN: a lease that expired in between reads None and is skipped.
    for key, value in zip(keys, redis.mget(keys), strict=True):
        suffix = key[start:]
        if value is not None and suffix.isdigit():
            held[int(suffix)] = _text(value)
    return held


class AccountLease:
    """The lease on one account for one owner; `ttl_s` is real (already scaled) seconds."""

    def __init__(
        self, redis: Redis, key_prefix: str, account_id: int, owner: str, ttl_s: float
    ) -> None:
        if ttl_s <= 0:
            raise ValueError("ttl_s must be positive")
        if not owner:
            raise ValueError("owner must not be empty")
        self.redis = redis
        self.key = lease_key(key_prefix, account_id)
        self.account_id = account_id
        self.owner = owner
        self.ttl_s = ttl_s
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._log = logger.bind(account_id=account_id, owner=owner)

    def acquire(self) -> bool:
        """Take the lease if nobody holds it (including this owner); True when taken."""
        taken = bool(self.redis.set(self.key, self.owner, nx=True, px=self._ttl_ms))
        self._log.debug("lease acquired" if taken else "lease busy")
        return taken

    def renew(self) -> bool:
        """Reset the TTL if the lease is still ours; False means it is lost."""
        return bool(self._renew(keys=[self.key], args=[self.owner, self._ttl_ms]))

    def release(self) -> bool:
        """Delete the lease if it is still ours; never touches another owner's lease."""
        released = bool(self._release(keys=[self.key], args=[self.owner]))
        self._log.debug("lease released" if released else "lease already gone")
        return released


class LeaseKeeper:
    """Renews a held lease every `interval_s` in a daemon thread while the block runs.

    `lost` is set when a renewal finds the lease gone or taken, or when Redis has been
    unreachable so long that the lease may expire before the next attempt; the driver must
    then stop touching the account. Leaving the block (or `stop()`) ends the renewals and
    releases the lease if it is still ours.
    """

    def __init__(
        self,
        lease: AccountLease,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < interval_s < lease.ttl_s:
            raise ValueError("interval_s must be positive and shorter than the lease TTL")
        self.lease = lease
        self.interval_s = interval_s
        # What the TTL is measured against; a test gives its own to judge the rule exactly.
        self._clock = clock
        self.lost = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin renewing; the lease must already be held."""
        if self._thread is not None:
            raise RuntimeError("LeaseKeeper already started")
        self._thread = threading.Thread(
            target=self._run, name=f"lease-{self.lease.account_id}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing and release the lease if it is still ours."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.lease.release()
        except RedisError as exc:
            # Not fatal, and raising here would hide the block's own exception: an
            # unreleased lease expires within its TTL.
            logger.bind(account_id=self.lease.account_id, error=type(exc).__name__).warning(
                "lease release failed"
            )

    def __enter__(self) -> LeaseKeeper:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        log = logger.bind(account_id=self.lease.account_id, owner=self.lease.owner)
        last_renewed = self._clock()
        while not self._stopping.wait(self.interval_s):
            attempted = self._clock()
            try:
                renewed = self.lease.renew()
            except RedisError as exc:
                log.bind(error=type(exc).__name__).warning("lease renewal failed")
                # Redis may come back in time; give up while the next attempt would still
                # fall inside the TTL, so the driver stops before anyone else can take over.
                if self._clock() - last_renewed + self.interval_s < self.lease.ttl_s:
                    continue
                renewed = False
            if not renewed:
                log.warning("lease lost")
                self.lost.set()
                return
            last_renewed = attempted
