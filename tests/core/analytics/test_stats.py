"""The one percentile: nearest rank, a measured value every time."""

from __future__ import annotations

import pytest

from core.analytics.stats import percentile


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 0.5, None),
        ([7.0], 0.95, 7.0),
        ([3.0, 1.0, 2.0, 4.0], 0.5, 2.0),
        ([3.0, 1.0, 2.0, 4.0], 0.51, 3.0),
        ([10.0, 20.0], 0.95, 20.0),
        ([10.0, 20.0], 0.0, 10.0),
        ([10.0, 20.0], 1.0, 20.0),
        (list(range(1, 101)), 0.95, 95),
        # 0.07 · 100 is 7.000000000000001 in floating point: still the 7th, not the 8th.
        (list(range(1, 101)), 0.07, 7),
        # An odd count's median is its middle value; an even count's the lower middle.
        ([5.0, 1.0, 3.0], 0.5, 3.0),
        (list(range(1, 11)), 0.5, 5),
    ],
)
def test_nearest_rank(values: list[float], share: float, expected: float | None) -> None:
    assert percentile(values, share) == expected


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_share_outside_0_to_1_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="share must be within 0..1"):
        percentile([1.0], share)
