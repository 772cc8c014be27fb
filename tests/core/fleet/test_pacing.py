"""The pacer against the real Redis: gaps, caps, status, and a race between processes."""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.synchronize import Event

import pytest
from redis import Redis

from core.fleet.pacing import Pacer, PacingStatus, PacingTimeout
from core.platform.profiles import PacingProfile
from tests.helpers.stores import TEST_KEY_PREFIX

ROOMY = dict(sends_per_hour=100_000, actions_per_minute=100_000, daily_send_cap=100_000)


def test_gap_between_sends_is_enforced(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.01)  # gap 3 s -> 30 ms
    budgets = PacingProfile(min_send_gap_s=3.0, **ROOMY)
    assert pacer.reserve(1, "send", budgets) == 0.0
    wait = pacer.reserve(1, "send", budgets)
    assert 0 < wait <= 0.03
    # Actions are not bound by the send gap, and another account is not bound at all.
    assert pacer.reserve(1, "action", budgets) == 0.0
    assert pacer.reserve(2, "send", budgets) == 0.0
    time.sleep(wait)
    assert pacer.reserve(1, "send", budgets) == 0.0


def test_denied_reserve_records_nothing(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.01)
    budgets = PacingProfile(min_send_gap_s=3.0, **ROOMY)
    pacer.reserve(1, "send", budgets)
    for _ in range(5):
        assert pacer.reserve(1, "send", budgets) > 0
    status = pacer.status(1, budgets)
    assert (status.sends_last_hour, status.actions_last_minute) == (1, 1)


def test_hourly_cap(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.0001)  # an hour is 0.36 s
    budgets = PacingProfile(
        min_send_gap_s=0, sends_per_hour=3, actions_per_minute=1000, daily_send_cap=1000
    )
    started = time.monotonic()
    for _ in range(3):
        assert pacer.reserve(1, "send", budgets) == 0.0
    wait = pacer.reserve(1, "send", budgets)
    assert 0.36 - (time.monotonic() - started) - 0.01 <= wait <= 0.36
    time.sleep(wait)
    assert pacer.reserve(1, "send", budgets) == 0.0


def test_daily_cap(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.0001)  # a day is 8.64 s, an hour 0.36 s
    budgets = PacingProfile(
        min_send_gap_s=0, sends_per_hour=1000, actions_per_minute=1000, daily_send_cap=2
    )
    assert pacer.reserve(1, "send", budgets) == 0.0
    assert pacer.reserve(1, "send", budgets) == 0.0
    wait = pacer.reserve(1, "send", budgets)
    assert 8.5 < wait <= 8.64  # well past the hour: only the daily cap holds it back
    assert pacer.status(1, budgets).sends_last_day == 2


def test_daily_cap_frees_after_a_day(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.000002)  # a day is 0.17 s
    budgets = PacingProfile(
        min_send_gap_s=0, sends_per_hour=1000, actions_per_minute=1000, daily_send_cap=1
    )
    assert pacer.reserve(1, "send", budgets) == 0.0
    assert pacer.acquire(1, "send", budgets, timeout_s=1.0) > 0.1


def test_action_cap_counts_sends(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.001)  # a minute is 60 ms
    budgets = PacingProfile(
        min_send_gap_s=0, sends_per_hour=1000, actions_per_minute=5, daily_send_cap=1000
    )
    assert pacer.reserve(1, "send", budgets) == 0.0
    for _ in range(4):
        assert pacer.reserve(1, "action", budgets) == 0.0
    action_wait = pacer.reserve(1, "action", budgets)
    assert 0 < action_wait <= 0.06
    # A send needs an action slot too, though its own budgets have room.
    assert pacer.reserve(1, "send", budgets) > 0
    time.sleep(action_wait)
    assert pacer.reserve(1, "action", budgets) == 0.0


def test_status_numbers(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.01)
    budgets = PacingProfile(min_send_gap_s=3.0, **ROOMY)
    assert pacer.status(1, budgets) == PacingStatus(0, 0, 0, 0.0, 0.0)
    pacer.reserve(1, "send", budgets)
    pacer.reserve(1, "action", budgets)
    pacer.reserve(1, "action", budgets)
    status = pacer.status(1, budgets)
    assert (status.sends_last_hour, status.sends_last_day, status.actions_last_minute) == (1, 1, 3)
    assert 0 < status.next_send_in_s <= 0.03
    assert status.next_action_in_s == 0.0
    # Reading the status records nothing.
    assert pacer.status(1, budgets).actions_last_minute == 3


def test_status_reports_action_cap_wait(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.01)  # a minute is 0.6 s
    budgets = PacingProfile(min_send_gap_s=0, sends_per_hour=1000, actions_per_minute=2)
    pacer.reserve(1, "action", budgets)
    pacer.reserve(1, "action", budgets)
    status = pacer.status(1, budgets)
    assert 0.5 < status.next_action_in_s <= 0.6
    assert status.next_send_in_s == status.next_action_in_s


def test_old_entries_are_trimmed_and_keys_expire(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.0005)  # minute 30 ms, day 43.2 s
    budgets = PacingProfile(min_send_gap_s=0, **ROOMY)
    sends_key, actions_key, _ = pacer.keys(1)
    pacer.reserve(1, "send", budgets)
    time.sleep(0.04)
    pacer.reserve(1, "action", budgets)
    assert redis.zcard(actions_key) == 1  # the send's action entry left with its minute
    assert redis.zcard(sends_key) == 1
    assert 0 < redis.pttl(actions_key) <= 31
    assert 0 < redis.pttl(sends_key) <= 43_201


def test_acquire_sleeps_until_granted(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.01)
    budgets = PacingProfile(min_send_gap_s=3.0, **ROOMY)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    assert pacer.acquire(1, "send", budgets, sleep=sleep) == 0.0
    waited = pacer.acquire(1, "send", budgets, sleep=sleep)
    assert slept and waited == pytest.approx(sum(slept))
    assert 0 < waited <= 0.035


def test_acquire_times_out_without_recording(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.01)
    budgets = PacingProfile(min_send_gap_s=3.0, **ROOMY)
    pacer.acquire(1, "send", budgets)
    with pytest.raises(PacingTimeout) as caught:
        pacer.acquire(1, "send", budgets, sleep=pytest.fail, timeout_s=0.001)
    assert caught.value.account_id == 1 and caught.value.wait_s > 0.001
    assert pacer.status(1, budgets).sends_last_hour == 1


def test_unknown_kind_rejected(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, time_scale=0.01)
    with pytest.raises(ValueError, match="kind"):
        pacer.reserve(1, "login", PacingProfile())  # type: ignore[arg-type]


RACE_SCALE = 0.01  # min_send_gap_s 3.0 -> 30 ms
RACE_SENDS = 10
RACE_WORKERS = 4


def _race_worker(redis_url: str, start: Event, grants: multiprocessing.Queue) -> None:
    """Child process: acquire sends for account 7 back to back; report Redis TIME at grant."""
    conn = Redis.from_url(redis_url)
    pacer = Pacer(conn, TEST_KEY_PREFIX, RACE_SCALE)
    budgets = PacingProfile(min_send_gap_s=3.0, **ROOMY)
    start.wait()
    for _ in range(RACE_SENDS):
        pacer.acquire(7, "send", budgets, timeout_s=10.0)
        seconds, micros = conn.time()
        grants.put(seconds * 1_000_000 + micros)
    conn.close()


def test_concurrent_processes_never_break_the_gap(redis: Redis, redis_url: str) -> None:
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    grants = ctx.Queue()
    workers = [
        ctx.Process(target=_race_worker, args=(redis_url, start, grants))
        for _ in range(RACE_WORKERS)
    ]
    for worker in workers:
        worker.start()
    start.set()
    observed = [grants.get(timeout=30) for _ in range(RACE_WORKERS * RACE_SENDS)]
    for worker in workers:
        worker.join(timeout=10)
        assert worker.exitcode == 0

    gap_us = 3.0 * RACE_SCALE * 1_000_000
    # The grant times the script itself recorded, from the same atomic step that checked.
    sends_key, _, _ = Pacer(redis, TEST_KEY_PREFIX, RACE_SCALE).keys(7)
    recorded = sorted(score for _, score in redis.zrange(sends_key, 0, -1, withscores=True))
    assert len(recorded) == RACE_WORKERS * RACE_SENDS
    assert min(b - a for a, b in zip(recorded, recorded[1:], strict=False)) >= gap_us
    # The workers' own reading of TIME right after each grant (it trails the grant by a
    # round trip and any scheduling delay, so it is not exact) shows they really waited.
    assert max(observed) - min(observed) >= gap_us * (len(observed) - 1) * 0.9


def test_a_paused_account_is_granted_nothing_until_the_pause_ends(redis: Redis) -> None:
    pacer = Pacer(redis, TEST_KEY_PREFIX, 0.01)
    budgets = PacingProfile(min_send_gap_s=0)
    pacer.pause(5, 0.2)
    send_wait = pacer.reserve(5, "send", budgets)
    action_wait = pacer.reserve(5, "action", budgets)
    assert 0.1 < send_wait <= 0.2
    assert 0.1 < action_wait <= 0.2
    status = pacer.status(5, budgets)
    assert 0.1 < status.paused_for_s <= 0.2
    assert status.actions_last_minute == 0, "nothing may be recorded while paused"
    pacer.pause(5, 0.05)  # a shorter pause never cuts a longer one short
    assert pacer.status(5, budgets).paused_for_s > 0.1
    assert pacer.reserve(6, "send", budgets) == 0.0, "other accounts are not paused"
