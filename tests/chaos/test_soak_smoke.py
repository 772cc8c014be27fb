"""`python -m bench.soak` keeps running: a tiny soak (20 jobs, one account, contexts
recycled every 3 jobs, Chromium every 10) prints figures and one JSON line, recycles what
it should (as the worker's browser host recorded it), and leaves no process of the worker
behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.soak import main

pytestmark = pytest.mark.chaos


def test_tiny_soak_recycles_and_leaves_no_orphans(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = main(
        [
            "--jobs", "20",
            "--accounts", "1",
            "--recycle-every", "3",
            "--restart-every", "10",
            "--timeout", "240",
            "--var-dir", str(tmp_path),
        ]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[-1]) == figures
    assert figures["passed"], out[-3000:]
    assert figures["jobs"] >= 20 and figures["jobs_failed"] == 0
    assert figures["worker_stop_s"] is not None, "the worker hung on SIGTERM"
    assert figures["orphans"] == 0 and figures["leftover_processes"] == 0
    # Every launch after the first was a restart the host recorded, planned or not.
    restarts = figures["browser_planned_restarts"] + figures["browser_suspect_relaunches"]
    assert figures["browser_launches"] == 1 + restarts
    assert figures["browser_planned_restarts"] >= 1
    assert figures["contexts_recycled"] >= 1
    assert figures["worker_rss_mb"]["peak"] > 0 and figures["chromium_rss_mb"]["peak"] > 0
