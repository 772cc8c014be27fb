"""Per-account pacing, atomic in Redis, so every worker on every host shares one budget.

Each account has two sorted sets whose scores are the Redis server's clock in microseconds:
`{prefix}pacing:account:{id}:sends` holds every granted send for a day (or the send gap, if
longer) and `{prefix}pacing:account:{id}:actions` every granted UI action, sends included,
for a minute. One Lua script reads the clock, checks every budget and records a grant in a
single step: two workers can never both take the last slot, and worker clocks never matter.
Entries are trimmed on each grant and both keys expire once their window has passed.

Windows slide: "sends per hour" means sends in the last (scaled) hour, and the daily cap
counts the last (scaled) 24 hours. Every window and the send gap are multiplied by
`time_scale`, and every wait returned is in real (scaled) seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from loguru import logger
from redis import Redis

from core.platform.profiles import PacingProfile
from core.settings import Settings

Kind = Literal["send", "action"]

_HOUR_S = 3600.0
_DAY_S = 86400.0
_MINUTE_S = 60.0

# KEYS: sends, actions, paused. ARGV: mode ("send", "action" or "status"), then in microseconds and
# counts: gap, hour, sends per hour, day, sends per day, minute, actions per minute, and how
# long send entries are kept. Returns the wait in microseconds (0 = granted and recorded),
# or for "status" {sends last hour, sends last day, actions last minute, send wait,
# action wait, pause left}, recording nothing. While the paused key lives (a platform
# throttled the account), nothing is granted.
_SCRIPT = """
local sends, actions, paused = KEYS[1], KEYS[2], KEYS[3]
local mode = ARGV[1]
local gap = tonumber(ARGV[2])
local hour, per_hour = tonumber(ARGV[3]), tonumber(ARGV[4])
local day, per_day = tonumber(ARGV[5]), tonumber(ARGV[6])
local minute, per_minute = tonumber(ARGV[7]), tonumber(ARGV[8])
local keep = tonumber(ARGV[9])

local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])

-- Scores are around 2^50: Lua's tostring keeps 14 digits, so format them exactly.
local function exact(x) return string.format('%.0f', x) end

-- Entries of `key` younger than `span`, and microseconds until fewer than `limit` are.
local function window(key, span, limit)
  local since = '(' .. exact(now - span)
  local n = redis.call('ZCOUNT', key, since, '+inf')
  if n < limit then return n, 0 end
  local blocking = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES',
                              'LIMIT', n - limit, 1)
  return n, tonumber(blocking[2]) + span - now
end

local actions_n, action_wait = window(actions, minute, per_minute)
local hour_n, hour_wait = window(sends, hour, per_hour)
local day_n, day_wait = window(sends, day, per_day)
local gap_wait = 0
local last = redis.call('ZRANGE', sends, -1, -1, 'WITHSCORES')
if last[2] then gap_wait = math.max(0, tonumber(last[2]) + gap - now) end
local pause_wait = math.max(0, redis.call('PTTL', paused)) * 1000
action_wait = math.max(action_wait, pause_wait)
local send_wait = math.max(action_wait, hour_wait, day_wait, gap_wait)

if mode == 'status' then
  return {hour_n, day_n, actions_n, send_wait, action_wait, pause_wait}
end
local wait = action_wait
if mode == 'send' then wait = send_wait end
if wait > 0 then return wait end

local function record(key, span)
  local member = exact(now)
  local suffix = 0
  -- Two grants in one microsecond (possible with no gap) still need distinct members.
  while redis.call('ZADD', key, 'NX', exact(now), member) == 0 do
    suffix = suffix + 1
    member = exact(now) .. '-' .. suffix
  end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', exact(now - span))
  redis.call('PEXPIRE', key, math.floor(span / 1000) + 1)
end
if mode == 'send' then record(sends, keep) end
record(actions, minute)
return 0
"""


class PacingTimeout(TimeoutError):
    """`Pacer.acquire` would have waited longer than its timeout; nothing was recorded."""

    def __init__(self, account_id: int, kind: Kind, waited_s: float, wait_s: float) -> None:
        super().__init__(
            f"account {account_id}: {kind} not allowed within timeout "
            f"(waited {waited_s:.3f}s, next slot in {wait_s:.3f}s)"
        )
        self.account_id = account_id
        self.kind = kind
        self.waited_s = waited_s
        self.wait_s = wait_s


@dataclass(frozen=True)
class PacingStatus:
    """Where an account stands against its budgets; waits are real (scaled) seconds."""

    sends_last_hour: int
    sends_last_day: int
    actions_last_minute: int
    next_send_in_s: float
    next_action_in_s: float
    paused_for_s: float = 0.0


class Pacer:
    """Grants sends and UI actions per account within its `PacingProfile`, fleet-wide."""

    def __init__(self, redis: Redis, key_prefix: str, time_scale: float) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._redis = redis
        self._key_prefix = key_prefix
        self._time_scale = time_scale
        self._script = redis.register_script(_SCRIPT)

    @classmethod
    def for_settings(cls, redis: Redis, settings: Settings) -> Pacer:
        """The fleet's pacer on `redis`, with the settings' key prefix and time scale."""
        return cls(redis, settings.redis_key_prefix, settings.time_scale)

    def keys(self, account_id: int) -> tuple[str, str, str]:
        """The account's (sends, actions) sorted-set keys and its pause key."""
        base = f"{self._key_prefix}pacing:account:{account_id}"
        return f"{base}:sends", f"{base}:actions", f"{base}:paused"

    def pause(self, account_id: int, seconds: float) -> None:
        """Grant the account nothing for `seconds` (real seconds), e.g. after the platform
        throttled it. A longer pause already in force is kept."""
        key = self.keys(account_id)[2]
        millis = max(1, math.ceil(seconds * 1000))
        if self._redis.pttl(key) < millis:
            self._redis.set(key, "1", px=millis)
        logger.bind(account_id=account_id, seconds=round(seconds, 3)).info("account paused")

    def backoffs(self, account_ids: Sequence[int]) -> dict[int, float]:
        """The accounts among `account_ids` the pacer grants nothing now (a platform
        throttled them), with the real seconds of their backoff left."""
        with self._redis.pipeline(transaction=False) as pipe:
            for account_id in account_ids:
                pipe.pttl(self.keys(account_id)[2])
            left = pipe.execute()
        return {
            account_id: millis / 1000
            for account_id, millis in zip(account_ids, left, strict=True)
            if millis > 0
        }

    def _micros(self, human_s: float) -> int:
        """A human-time span as scaled microseconds, rounded up so limits are never shaved."""
        return math.ceil(human_s * self._time_scale * 1_000_000)

    def _run(self, account_id: int, mode: str, budgets: PacingProfile) -> Any:
        gap = self._micros(budgets.min_send_gap_s)
        day = self._micros(_DAY_S)
        args = [
            mode,
            gap,
            self._micros(_HOUR_S),
            budgets.sends_per_hour,
            day,
            budgets.daily_send_cap,
            self._micros(_MINUTE_S),
            budgets.actions_per_minute,
            max(day, gap),
        ]
        return self._script(keys=list(self.keys(account_id)), args=args)

    def reserve(self, account_id: int, kind: Kind, budgets: PacingProfile) -> float:
        """Take a `kind` slot now and return 0.0, or return the seconds until one frees up.

        Atomic across the fleet: when allowed, the grant is recorded at the Redis server's
        time in the same script that checked it (a send also uses an action); when not,
        nothing is recorded.
        """
        if kind not in ("send", "action"):
            raise ValueError(f"unknown pacing kind {kind!r}")
        return int(self._run(account_id, kind, budgets)) / 1_000_000

    def acquire(
        self,
        account_id: int,
        kind: Kind,
        budgets: PacingProfile,
        sleep: Callable[[float], object] = time.sleep,
        timeout_s: float | None = None,
    ) -> float:
        """Wait (with `sleep`) until a `kind` slot is granted; return the seconds slept.

        Raises `PacingTimeout`, before sleeping, when the next wait would take the total past
        `timeout_s` (real seconds). Another worker may take a freed slot first, so this
        re-reserves after every sleep.
        """
        log = logger.bind(account_id=account_id, kind=kind)
        waited_s = 0.0
        while True:
            wait_s = self.reserve(account_id, kind, budgets)
            if wait_s == 0.0:
                if waited_s:
                    log.bind(waited_s=round(waited_s, 3)).debug("pacing slot granted after wait")
                return waited_s
            if timeout_s is not None and waited_s + wait_s > timeout_s:
                log.bind(waited_s=round(waited_s, 3), wait_s=round(wait_s, 3)).warning(
                    "pacing timeout"
                )
                raise PacingTimeout(account_id, kind, waited_s, wait_s)
            sleep(wait_s)
            waited_s += wait_s

    def status(self, account_id: int, budgets: PacingProfile) -> PacingStatus:
        """The account's usage and next allowed send and action, read without recording."""
        hour_n, day_n, actions_n, send_wait_us, action_wait_us, pause_us = (
            int(value) for value in self._run(account_id, "status", budgets)
        )
        return PacingStatus(
            sends_last_hour=hour_n,
            sends_last_day=day_n,
            actions_last_minute=actions_n,
            next_send_in_s=send_wait_us / 1_000_000,
            next_action_in_s=action_wait_us / 1_000_000,
            paused_for_s=pause_us / 1_000_000,
        )
