"""Throttle signals back the account off exponentially, fleet-wide, via its pacer."""

from __future__ import annotations

import random

from redis import Redis

from core.fleet.pacing import Pacer
from core.fleet.throttle import ThrottleTracker
from core.platform.profiles import PacingProfile, ThrottleProfile
from tests.helpers.stores import TEST_KEY_PREFIX

SCALE = 0.001
PROFILE = ThrottleProfile(backoff_base_s=60, backoff_max_s=200, pause_after=3, window_s=3600)


def test_backoff_doubles_with_jitter_and_caps(redis: Redis) -> None:
    tracker = ThrottleTracker(redis, TEST_KEY_PREFIX, SCALE, random.Random(1))
    events = [tracker.record(1, PROFILE) for _ in range(4)]
    assert [e.signals_in_window for e in events] == [1, 2, 3, 4]
    for event, human in zip(events, (60, 120, 200, 200), strict=True):
        assert human * 0.8 * SCALE <= event.backoff_s <= human * 1.2 * SCALE
    assert [e.needs_operator(PROFILE) for e in events] == [False, False, True, True]


def test_a_signal_stops_every_worker_of_the_account(redis: Redis) -> None:
    ThrottleTracker(redis, TEST_KEY_PREFIX, SCALE).record(2, PROFILE)
    pacer = Pacer(redis, TEST_KEY_PREFIX, SCALE)
    budgets = PacingProfile(min_send_gap_s=0)
    assert pacer.reserve(2, "send", budgets) > 0.04
    assert pacer.reserve(2, "action", budgets) > 0.04
    assert pacer.reserve(3, "send", budgets) == 0.0
