"""Memory of a worker process and everything it started (Chromium and its helpers),
read from /proc so no extra dependency is needed on the Linux hosts workers run on."""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    task_dir = _PROC / str(pid) / "task"
    try:
        tasks = list(task_dir.iterdir())
    except OSError:
        return kids
    for task in tasks:
        try:
            kids.extend(int(x) for x in (task / "children").read_text().split())
        except OSError:
            continue
    return kids


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`, children first."""
    found: list[int] = []
    stack = _children(pid)
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(_children(child))
    return found


def rss_bytes(pid: int) -> int:
    """Resident memory of one process; 0 if it is gone."""
    try:
        for line in (_PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def tree_rss(pid: int | None = None) -> tuple[int, int]:
    """(RSS of the process, RSS of all its descendants): the worker and its Chromium."""
    own = pid or os.getpid()
    return rss_bytes(own), sum(rss_bytes(child) for child in descendants(own))
