"""The `fleet` command as a user runs it: bad options get clear errors, and the demo runs
the whole loop end to end in child processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cli.demo import DEMO_FANS, DEMO_PASSWORD, EDITED_REPLY
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


def test_users_are_created_from_the_cli_with_a_password_read_not_echoed(tmp_path: Path) -> None:
    env = {"FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}"}
    assert fleet("db", "upgrade", env=env).returncode == 0
    password = "correct horse battery"
    made = fleet(
        "users", "create", "--name", "mia", "--role", "admin", "--password-stdin",
        env=env, stdin=password + "\n",
    )  # fmt: skip
    assert (made.returncode, made.stdout.strip()) == (0, "user mia (admin) created"), made.stderr
    assert password not in made.stdout + made.stderr
    listed = fleet("users", "list", env=env)
    assert listed.stdout.split()[:2] == ["mia", "admin"]
    short = fleet("users", "create", "--name", "sam", "--password-stdin", env=env, stdin="short\n")
    assert short.returncode == 1
    assert one_error(short) == "error: a password is 12 to 1000 characters"
    worker = fleet(
        "users", "create", "--name", "w", "--role", "worker", "--password-stdin",
        env=env, stdin=password + "\n",
    )  # fmt: skip
    assert "a person is an admin or an operator, not a worker" in said(worker.stderr)


def test_keys_are_listed_and_revoked_from_the_cli_and_may_expire(tmp_path: Path) -> None:
    env = {"FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}"}
    assert fleet("db", "upgrade", env=env).returncode == 0
    ops = fleet("keys", "create", "--role", "operator", "--name", "ops", env=env).stdout.strip()
    made = fleet(
        "keys", "create", "--role", "worker", "--name", "w1", "--expires-in-days", "7", env=env
    )
    assert made.returncode == 0, made.stderr
    listed = fleet("keys", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    header, *rows = listed.stdout.strip().splitlines()
    assert header.split() == ["ID", "NAME", "ROLE", "PREFIX", "CREATED", "EXPIRES", "REVOKED"]
    assert [row.split()[:4] for row in rows] == [
        ["1", "ops", "operator", ops[:12]],
        ["2", "w1", "worker", made.stdout.strip()[:12]],
    ]
    assert "never" in rows[0] and "never" not in rows[1]
    assert ops not in listed.stdout, "a key was printed"
    revoked = fleet("keys", "revoke", "1", env=env)
    assert (revoked.returncode, revoked.stdout.strip()) == (0, "api key 1 (ops) revoked")
    assert [row.split()[1] for row in fleet("keys", "list", env=env).stdout.splitlines()[1:]] == [
        "w1"
    ]
    assert "ops" in fleet("keys", "list", "--all", env=env).stdout
    again = fleet("keys", "revoke", "1", env=env)
    assert again.returncode == 1
    assert one_error(again) == "error: api key 1 is already revoked"


def test_worker_refuses_unknown_queues_and_a_missing_token(tmp_path: Path, redis_url: str) -> None:
    env = {"FLEET_REDIS_URL": redis_url, "FLEET_WORKER_TOKEN": ""}
    unknown = fleet("worker", "--queues", "send,emails", env=env)
    assert unknown.returncode == 1
    assert one_error(unknown).startswith("error: unknown queue(s) ['emails']")
    tokenless = fleet("worker", "--queues", "send,scrape", env=env)
    assert tokenless.returncode == 1
    assert one_error(tokenless).startswith("error: FLEET_WORKER_TOKEN is not set")
    mixed = fleet("worker", "--queues", "send,ai", env={**env, "FLEET_WORKER_TOKEN": "x"})
    assert mixed.returncode == 1
    assert one_error(mixed).startswith("error: the ai queue needs the database")


def one_error(ran: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed on stderr (log lines at WARNING aside)."""
    lines = [line for line in ran.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1 and "Traceback" not in ran.stderr, ran.stderr
    return lines[0]


@pytest.mark.parametrize(
    ("chromium", "said_"),
    [
        ("/nonexistent/chromium", "error: FLEET_CHROMIUM_PATH: no executable at /nonexistent"),
        ("/bin/false", "error: FLEET_CHROMIUM_PATH: Chromium at /bin/false did not start: "),
    ],
)
def test_a_worker_whose_chromium_cannot_start_exits_at_start_up_with_one_line(
    redis_url: str, chromium: str, said_: str
) -> None:
    env = {
        "FLEET_REDIS_URL": redis_url,
        "FLEET_WORKER_TOKEN": "x",
        "FLEET_CHROMIUM_PATH": chromium,
    }
    ran = fleet("worker", "--queues", "send,scrape", env=env)
    assert ran.returncode == 1
    assert one_error(ran).startswith(said_)


def test_a_broken_profile_stops_the_api_and_the_workers_at_start_up(
    tmp_path: Path, redis_url: str
) -> None:
    (tmp_path / "good.toml").write_text((REPO / "browser_profiles" / "sandbox.toml").read_text())
    (tmp_path / "broken.toml").write_text('name = "broken"\nschema = 2\n')
    env = {"FLEET_REDIS_URL": redis_url, "FLEET_PROFILES_DIR": str(tmp_path)}
    for command in (["api"], ["worker", "--queues", "send"]):
        ran = fleet(*command, env={**env, "FLEET_WORKER_TOKEN": "x"})
        assert ran.returncode == 1
        assert one_error(ran).startswith(f"error: {tmp_path / 'broken.toml'}: invalid profile: ")


def test_a_bad_setting_is_one_line_naming_its_variable_and_debug_shows_the_traceback() -> None:
    env = {"FLEET_TIME_SCALE": "-1", "FLEET_MAX_ATTEMPTS": "many"}
    ran = fleet("sweep", env=env)
    assert ran.returncode == 1
    assert one_error(ran) == (
        "error: FLEET_TIME_SCALE: Input should be greater than 0; FLEET_MAX_ATTEMPTS: Input "
        "should be a valid integer, unable to parse string as an integer "
        "(run with --debug for the traceback)"
    )
    debugged = fleet("--debug", "sweep", env=env)
    assert debugged.returncode == 1
    assert "Traceback" in debugged.stderr and "ValidationError" in debugged.stderr


@pytest.mark.parametrize("command", ["sweep", "nudge"])
def test_one_shot_commands_need_the_fleets_redis_answering(tmp_path: Path, command: str) -> None:
    env = {
        "FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}",
        "FLEET_VAR_DIR": str(tmp_path / "var"),
    }
    unset = fleet(command, env={**env, "FLEET_REDIS_URL": ""})
    assert unset.returncode == 1
    assert one_error(unset) == (
        f"error: FLEET_REDIS_URL is not set: `fleet {command}` works on the fleet's Redis"
    )
    assert not (tmp_path / "var" / "redis").exists(), "started a private Redis"
    # Port 9 (discard) answers nothing on this machine.
    down = fleet(command, env={**env, "FLEET_REDIS_URL": "redis://127.0.0.1:9/0"})
    assert down.returncode == 1
    assert one_error(down).startswith("error: FLEET_REDIS_URL: Redis is not answering")


def _demo(tmp_path: Path, platform: str, *extra: str, **env: str) -> list[str]:
    """Run `fleet demo` on `platform` with `env`; the lines it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo", "--time-scale", "0.05", "--platform", platform]
        + list(extra),
        cwd=REPO,
        env={
            k: v
            for k, v in {**os.environ, "FLEET_VAR_DIR": str(tmp_path / "var"), **env}.items()
            if k != "FLEET_REDIS_URL"
        },
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1].startswith(
        f"demo ok on {platform}: 9 messages scraped, 6 drafts, 6 sends delivered in "
    ), lines[-1]
    return lines


@pytest.mark.e2e
@pytest.mark.browser
def test_demo_runs_the_whole_loop_and_cleans_up(tmp_path: Path) -> None:
    _demo(tmp_path, "velvet")
    assert not (tmp_path / "var").exists() or not any((tmp_path / "var").glob("demo-*"))


@pytest.mark.e2e
@pytest.mark.browser
def test_a_full_cycle_logs_json_lines_with_no_message_text_or_credential(tmp_path: Path) -> None:
    # The demo's processes: sandbox, API, drafting worker, reconciler, two browser workers.
    _demo(tmp_path, "sandbox", "--keep-var", FLEET_LOG_FORMAT="json", FLEET_LOG_LEVEL="INFO")
    [logs] = (tmp_path / "var").glob("demo-*/logs")
    secrets = [DEMO_PASSWORD, EDITED_REPLY, "ifk_"] + [
        text for _, texts in DEMO_FANS for text in texts
    ]
    components = set()
    for path in sorted(logs.glob("*.log")):
        lines = path.read_text().splitlines()
        assert lines, f"{path.name} logged nothing"
        for line in lines:
            record = json.loads(line)["record"]  # every line is one JSON object
            components.add(record["extra"]["component"])
            for secret in secrets:
                assert secret not in line, f"{path.name} holds {secret!r}: {line[:300]}"
    assert {"api", "worker", "reconciler", "sandbox"} <= components
    requests = [
        json.loads(line)["record"]
        for line in (logs / "api.log").read_text().splitlines()
        if '"message": "request"' in line
    ]
    assert requests and all(r["extra"].get("request_id") for r in requests)
    assert not any(r["extra"]["path"] == "/v1/worker/heartbeat" for r in requests), (
        "heartbeats logged at INFO"
    )
    assert any(
        json.loads(line)["record"]["extra"].get("logger", "").startswith("rq.")
        for line in (logs / "worker-1.log").read_text().splitlines()
    ), "RQ's own lines are missing from the worker's JSON log"
