"""The layers hold: import-linter's contracts (pyproject.toml), and a browser worker that
really loads nothing of the database layer when it starts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers.stores import REPO


def test_the_import_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_browser_worker_starts_without_the_database_layer() -> None:
    probe = (
        "import json, sys, cli.main, workers.worker, workers.jobs;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'psycopg') or m in ('core.db', 'core.models'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == []
