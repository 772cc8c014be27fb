"""How the console writes a fan's wait: minutes, then hours, then days."""

from __future__ import annotations

import pytest

from api.console.pages import waited


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(59, "0 min"), (3_599, "59 min"), (4_020, "1 h 7 min"), (2 * 86_400 + 7_300, "2 d 2 h")],
)
def test_a_wait_reads_in_minutes_hours_or_days(seconds: float, shown: str) -> None:
    assert waited(seconds) == shown
