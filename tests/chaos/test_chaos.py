"""The chaos run, short: 24 sends over 3 accounts and 2 workers while 2 workers are
SIGKILLed, Redis restarts empty and the control plane restarts. Nothing may be lost or
sent twice, and no process of the run may outlive it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.chaos import main

pytestmark = pytest.mark.chaos


def test_short_chaos_run_loses_nothing_and_sends_nothing_twice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    figures = main(
        [
            "--sends", "24",
            "--accounts", "3",
            "--workers", "2",
            "--kill-every", "3",
            "--max-kills", "2",
            "--no-baseline",
            "--timeout", "120",
            "--var-dir", str(tmp_path),
        ]
    )  # fmt: skip

    out = capsys.readouterr().out
    assert json.loads(out.splitlines()[-1]) == figures
    assert figures["passed"], out[-4000:]
    assert (figures["lost"], figures["duplicates"], figures["unexpected"]) == (0, 0, 0)
    assert figures["not_delivered"] == 0
    assert figures["kills"] == 2, out[-4000:]
    assert (figures["redis_restarts"], figures["api_restarts"]) == (1, 1), out[-4000:]
    assert figures["leftover_processes"] == 0, "a process of the run outlived it"
