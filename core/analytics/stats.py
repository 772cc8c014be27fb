"""Summary statistics shared by the analytics and the benchmarks, so every figure called
a percentile is computed one way."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile of `values` at `share` (0..1): the smallest value that
    at least `share` of the values are at or below, i.e. the ⌈share·n⌉-th smallest (the
    smallest for a share of 0). None when there are no values.

    Nearest rank, not interpolation: the answer is always a value that was measured (a
    wait some fan had, a run that happened), and it is what PostgreSQL's
    `percentile_disc` answers, so SQL and Python reports agree.
    """
    if not 0 <= share <= 1:
        raise ValueError(f"share must be within 0..1, not {share}")
    if not values:
        return None
    ordered = sorted(values)
    # Rounded first: 0.07 · 100 is 7.000000000000001 in binary floating point, and its
    # ceiling would skip a rank.
    rank = max(1, math.ceil(round(share * len(ordered), 9)))
    return ordered[rank - 1]
