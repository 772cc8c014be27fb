"""The `fleet` command as a user runs it: bad options get clear errors, and the demo runs
the whole loop end to end in child processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.cli import fleet, said
from tests.helpers.stores import REPO


def test_keys_create_prints_a_key_once_and_refuses_an_unknown_role(tmp_path: Path) -> None:
    env = {"FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}"}
    assert fleet("db", "upgrade", env=env).returncode == 0
    made = fleet("keys", "create", "--role", "operator", "--name", "ops", env=env)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().startswith("ifk_")
    bad = fleet("keys", "create", "--role", "overlord", env=env)
    assert bad.returncode == 2
    assert "unknown role 'overlord'; choose admin, operator or worker" in said(bad.stderr)


def test_worker_refuses_unknown_queues_and_a_missing_token(tmp_path: Path, redis_url: str) -> None:
    env = {"FLEET_REDIS_URL": redis_url, "FLEET_WORKER_TOKEN": ""}
    unknown = fleet("worker", "--queues", "send,emails", env=env)
    assert unknown.returncode == 2
    assert "unknown queue(s) ['emails']" in said(unknown.stderr)
    tokenless = fleet("worker", "--queues", "send,scrape", env=env)
    assert tokenless.returncode == 2
    assert "FLEET_WORKER_TOKEN is not set" in said(tokenless.stderr)
    mixed = fleet("worker", "--queues", "send,ai", env={**env, "FLEET_WORKER_TOKEN": "x"})
    assert mixed.returncode == 2
    assert "the ai queue needs the database" in said(mixed.stderr)


@pytest.mark.e2e
@pytest.mark.browser
@pytest.mark.parametrize("platform", ["sandbox", "velvet"])
def test_demo_runs_the_whole_loop_and_checks_it(tmp_path: Path, platform: str) -> None:
    env = {"FLEET_VAR_DIR": str(tmp_path / "var")}
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "--time-scale", "0.05", "--platform", platform],
        cwd=REPO,
        env={k: v for k, v in {**os.environ, **env}.items() if k != "FLEET_REDIS_URL"},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith(
        f"demo ok on {platform}: 9 messages scraped, 6 drafts, 6 sends delivered in "
    ), last
    assert not (tmp_path / "var").exists() or not any((tmp_path / "var").glob("demo-*"))
