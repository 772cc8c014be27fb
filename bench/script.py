"""How a long benchmark runs as `python -m bench.<name>`: SIGTERM stops it like Ctrl-C,
so every child it started is stopped on the way out, and its exit code says pass/fail."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run_as_script(main: Callable[[], dict[str, Any]]) -> None:
    """Run `main`, exit 0 when its figures say `passed`, 1 when not, 130 when stopped."""
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        raise SystemExit(0 if main()["passed"] else 1)
    except KeyboardInterrupt:
        print("interrupted; every process of the run was stopped", flush=True)
        raise SystemExit(130) from None
