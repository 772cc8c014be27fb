"""Where a job's time goes: seconds and counts per kind of work, and samples of each.

A sweep's driver measures its pacer waits (the pacer and the human dwell), page loads
(navigation, the logged-in check and the wait for a list to render), reads (the page
script and parsing) and ingest calls, and the job logs them with its result, so an
operator and `bench.sweep` see what a slow sweep was waiting on.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager


class Timings:
    """Seconds spent per kind of work, with every sample kept (jobs are short)."""

    def __init__(self) -> None:
        self.samples: defaultdict[str, list[float]] = defaultdict(list)

    @contextmanager
    def measure(self, kind: str) -> Iterator[None]:
        """Time the block as one sample of `kind`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.samples[kind].append(time.perf_counter() - started)

    def add(self, kind: str, seconds: float) -> None:
        """Record one sample of `kind` measured elsewhere."""
        self.samples[kind].append(seconds)

    def total(self, kind: str) -> float:
        """Seconds spent on `kind` so far."""
        return sum(self.samples.get(kind, ()))

    def summary(self) -> dict[str, dict[str, float]]:
        """Per kind: total seconds, count and median sample, rounded for a log line."""
        return {
            kind: {
                "s": round(sum(values), 4),
                "n": len(values),
                "p50": round(statistics.median(values), 5),
            }
            for kind, values in sorted(self.samples.items())
            if values
        }
