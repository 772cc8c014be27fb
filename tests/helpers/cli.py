"""Running the `fleet` command as a user does, and reading what it printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.helpers.stores import REPO


def fleet(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`fleet *args` in a child process, with `env` over this one's environment and
    `stdin` as its input."""
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def said(stream: str) -> str:
    """What the CLI printed, without the box drawing and line wrapping of its error panel."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", stream).split())
