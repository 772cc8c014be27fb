"""`python -m bench.soak` keeps running: a tiny soak (20 jobs, one account, contexts
recycled every 3 jobs, Chromium every 10) prints figures and one JSON line, recycles what
it should, and leaves no process of the worker behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.soak import main, read_worker_log

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
    assert figures["browser_launches"] >= 2 and figures["browser_planned_restarts"] >= 1
    assert figures["contexts_recycled"] >= 1
    assert figures["worker_rss_mb"]["peak"] > 0 and figures["chromium_rss_mb"]["peak"] > 0


def test_context_recycles_are_counted_by_the_workers_rule() -> None:
    inbox_read = "INFO worker inbox read {{'sweep_id': {n}, 'account_id': {account}}}"
    lines = ["INFO worker chromium launched {'launches': 1}"]
    # Account 1 serves 7 jobs on one browser with recycling every 3: replaced before its
    # 4th and 7th jobs. Account 2's 2 jobs never fill a context.
    lines += [inbox_read.format(n=n, account=1) for n in range(7)]
    lines += [inbox_read.format(n=n, account=2) for n in range(2)]
    # A relaunch starts every context afresh: 3 more jobs of account 1 fill one, no recycle.
    lines += ["INFO worker browser due for a restart {'jobs': 9}"]
    lines += ["INFO worker chromium launched {'launches': 2}"]
    lines += [inbox_read.format(n=n, account=1) for n in range(3)]

    counts = read_worker_log("\n".join(lines), recycle_every=3)

    assert (counts.launches, counts.planned_restarts, counts.contexts_recycled) == (2, 1, 2)
    assert counts.jobs_logged == 12
