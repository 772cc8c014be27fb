"""How a long benchmark runs as `python -m bench.<name>`: SIGTERM stops it like Ctrl-C,
so every child it started is stopped on the way out, and its exit code says pass/fail."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
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


def add_run_dir_options(parser: argparse.ArgumentParser) -> None:
    """`--keep-var` and `--var-dir`, which every cluster benchmark takes."""
    parser.add_argument("--keep-var", action="store_true", help="keep logs and databases")
    parser.add_argument(
        "--var-dir", type=Path, default=None, help="where logs and databases go (default: var/)"
    )


def run_dir(args: argparse.Namespace, var_dir: Path, bench: str) -> Path:
    """Where this run of `bench` keeps its logs and databases."""
    return ((args.var_dir or var_dir) / f"bench-{bench}-{os.getpid()}").resolve()


def finish(figure: dict[str, Any], root: Path, keep: bool) -> dict[str, Any]:
    """Keep the run's directory (said where) when asked or when the run failed, else
    remove it; print the figures as the one closing JSON line and return them."""
    if keep or not figure["passed"]:
        print(f"logs and databases are in {root}", flush=True)
    else:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(figure), flush=True)
    return figure
