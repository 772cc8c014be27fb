"""The pacing bench's lower bound: what one driver per account can do at best under its
budgets, and the human time a send needs before its click."""

from __future__ import annotations

import pytest

from bench.pacing import DWELLS_PER_SEND, chain_bound_s, human_time_s
from core.platform.profiles import named_profile
from core.platform.typing_plan import plan_typing, seed_for
from core.settings import get_settings


def test_sends_faster_than_the_gap_are_spaced_by_the_gap() -> None:
    # The first send needs its human time; each next one a gap after it.
    assert chain_bound_s([0, 0, 0], [2, 2, 2], gap_s=10, per_hour=100, hour_s=3600) == 22


def test_sends_slower_than_the_gap_are_spaced_by_their_typing() -> None:
    assert chain_bound_s([0, 0, 0], [15, 12, 11], gap_s=10, per_hour=100, hour_s=3600) == 38


def test_a_send_released_late_starts_at_its_release() -> None:
    # The reply is approved at 100 s: it waits for nothing else but its own typing.
    assert chain_bound_s([0, 100, 0], [2, 3, 2], gap_s=10, per_hour=100, hour_s=3600) == 103


def test_the_hourly_budget_holds_back_the_sends_beyond_it() -> None:
    # Two per "hour" of 60 s: the third send waits until the first is an hour old.
    assert chain_bound_s([0, 0, 0], [1, 1, 1], gap_s=5, per_hour=2, hour_s=60) == 61


def test_no_sends_need_no_time() -> None:
    assert chain_bound_s([], [], gap_s=5, per_hour=2, hour_s=60) == 0


def test_a_sends_human_time_is_its_plan_and_the_least_dwells_scaled() -> None:
    typing = named_profile(get_settings().profiles_dir, "sandbox").typing
    text = "new set drops tonight, you'll be the first to know 🔥"
    plan = plan_typing(text, typing, seed_for("send", 7, 1))
    expected = (plan.expected_duration_s + DWELLS_PER_SEND * typing.dwell_min_s) * 0.5
    assert human_time_s(7, text, typing, 0.5) == pytest.approx(expected)
    # The seed is the send's first attempt, as the worker plans it: another send differs.
    assert human_time_s(8, text, typing, 0.5) != human_time_s(7, text, typing, 0.5)
