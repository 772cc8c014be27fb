"""`python -m bench.typing` keeps running: its main function on a tiny corpus prints its
figures and ends with one JSON line that parses and agrees with what it returned."""

from __future__ import annotations

import io
import json

from bench.typing import CORPUS, Exchange, main


def test_bench_main_ends_with_one_json_line() -> None:
    corpus = [*CORPUS[:2], Exchange("how much?", "It's $25, link: https://example.com/x 💋\nok?")]
    out = io.StringIO()
    summary = main(["--plans", "12", "--seed", "3"], corpus=corpus, out=out)

    *readable, last = out.getvalue().splitlines()
    assert readable and not any(line.startswith("{") for line in readable)
    figures = json.loads(last)
    assert figures == json.loads(json.dumps(summary))
    assert figures["bench"] == "typing" and figures["plans"] == 12
    assert figures["cpm_p5"] <= figures["cpm_mean"] <= figures["cpm_p95"]
    assert set(figures["pauses_per_100_chars"]) == {"word", "punctuation", "thinking", "correction"}
    durations = figures["duration_s"]
    assert 0 < durations["p5"] <= durations["p50"] <= durations["p95"] <= durations["max"]
    assert figures["sandbox_flagged"] == 0


def test_bench_is_reproducible_from_its_seed() -> None:
    runs = [main(["--plans", "6"], corpus=CORPUS[:3], out=io.StringIO()) for _ in range(2)]
    assert runs[0] == runs[1]
