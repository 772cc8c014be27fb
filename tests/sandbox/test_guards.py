"""The platform's request and send caps over HTTP: per-account, scaled, refused with 429 and
the slow-down banner, recorded as refusals, and lifted once the window has passed."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sandbox.accounts import create_account
from sandbox.audit import record_refusal
from sandbox.config import SandboxConfig
from sandbox.control_client import SandboxAccount, SandboxControl
from sandbox.conversations import create_fan
from sandbox.db import Database
from sandbox.sending import SLOW_DOWN
from sandbox.server import BackgroundServer
from tests.helpers.sandbox import Sandbox
from tests.helpers.stores import free_port

TYPED = [{"t_ms": float(i), "graphemes": 1, "input_type": "insertText"} for i in range(5)]


@contextmanager
def logged_in(control: SandboxControl, account: SandboxAccount) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=control.url, timeout=10) as client:
        form = {"username": account.username, "password": account.password}
        assert client.post("/login", data=form).status_code == 303
        yield client


def send(client: httpx.Client, conversation_id: str, text: str = "hello") -> httpx.Response:
    return client.post(
        f"/api/conversations/{conversation_id}/messages", json={"text": text, "cadence": TYPED}
    )


def test_guards_are_configurable_and_scaled(sandbox: Sandbox) -> None:
    guards = sandbox.guards()
    scale = guards["time_scale"]
    assert guards["hourly_send_cap"] == 150 and guards["actions_per_minute"] == 240
    assert guards["max_chars_per_s"] == 15 and guards["min_interval_cv"] == 0.2
    assert guards["min_intervals"] == 20
    assert guards["effective_send_window_s"] == pytest.approx(3600 * scale)
    assert guards["effective_action_window_s"] == pytest.approx(60 * scale)

    changed = sandbox.update_guards(
        hourly_send_cap=7,
        actions_per_minute=9,
        max_chars_per_s=4.5,
        min_interval_cv=0.3,
        min_intervals=12,
    )
    assert changed == {
        **guards,
        "hourly_send_cap": 7,
        "actions_per_minute": 9,
        "max_chars_per_s": 4.5,
        "min_interval_cv": 0.3,
        "min_intervals": 12,
    }
    sandbox.reset()
    assert sandbox.guards() == guards


@pytest.mark.parametrize(
    "body",
    [
        {"hourly_send_cap": 0},
        {"actions_per_minute": 0},
        {"max_chars_per_s": 0},
        {"min_interval_cv": -0.1},
        {"min_intervals": 0},
        {"time_scale": 1},
    ],
)
def test_bad_guard_values_are_422(sandbox: Sandbox, body: dict) -> None:
    assert sandbox.request("PUT", "/_control/guards", json=body).status_code == 422


def test_action_cap_refuses_pages_and_api_until_the_minute_passes(sandbox: Sandbox) -> None:
    sandbox.update_guards(actions_per_minute=4)
    alice = sandbox.create_account("alice")
    bob = sandbox.create_account("bob")
    fan = sandbox.create_fan(alice, "Jane")
    with logged_in(sandbox, alice) as client:
        for _ in range(3):
            assert client.get("/api/conversations").status_code == 200
        assert client.get("/inbox").status_code == 200

        refused_api = client.get("/api/conversations")
        assert refused_api.status_code == 429
        assert refused_api.json()["detail"] == SLOW_DOWN
        retry_after_s = refused_api.json()["retry_after_s"]
        assert 0 < retry_after_s <= sandbox.guards()["effective_action_window_s"]
        assert int(refused_api.headers["retry-after"]) >= 1

        refused_page = client.get(f"/chat/{fan.conversation_id}")
        assert refused_page.status_code == 429
        assert 'data-testid="slow-down"' in refused_page.text
        assert 'data-testid="account-menu"' in refused_page.text

        refused_send = send(client, fan.conversation_id)
        assert refused_send.status_code == 429 and refused_send.json()["detail"] == SLOW_DOWN
        assert sandbox.delivered(alice) == []

        # Another account's budget is its own.
        with logged_in(sandbox, bob) as other:
            assert other.get("/api/conversations").status_code == 200

        # Refused requests do not count: after the scaled minute the account is let in.
        time.sleep(retry_after_s + 0.02)
        assert client.get("/api/conversations").status_code == 200

    refusals = sandbox.refusals(alice)
    assert [r.reason for r in refusals] == ["actions_per_minute"] * 3
    assert all(r.conversation_id is None for r in refusals)
    assert sandbox.refusals(bob) == []


def test_hourly_send_cap_refuses_with_the_time_to_wait(sandbox: Sandbox) -> None:
    sandbox.update_guards(min_send_gap_s=0, hourly_send_cap=3)
    alice = sandbox.create_account("alice")
    fan = sandbox.create_fan(alice, "Jane")
    with logged_in(sandbox, alice) as client:
        assert [send(client, fan.conversation_id).status_code for _ in range(3)] == [201] * 3
        refused = send(client, fan.conversation_id, "one more")
    assert refused.status_code == 429
    assert refused.json()["detail"] == SLOW_DOWN
    hour_s = sandbox.guards()["effective_send_window_s"]
    assert hour_s * 0.9 < refused.json()["retry_after_s"] <= hour_s
    assert int(refused.headers["retry-after"]) == pytest.approx(hour_s, abs=1)
    assert [m.text for m in sandbox.delivered(alice)] == ["hello"] * 3
    [refusal] = sandbox.refusals(alice)
    assert refusal.reason == "hourly_send_cap"
    assert refusal.conversation_id == fan.conversation_id


@pytest.fixture
def fast_sandbox(tmp_path: Path) -> Iterator[SandboxControl]:
    """A sandbox whose hour lasts 0.72 s, so the send cap's window can be seen to slide."""
    config = SandboxConfig(
        db_path=tmp_path / "fast.db", time_scale=0.0002, control_enabled=True, hourly_send_cap=2
    )
    server = BackgroundServer(config, port=free_port())
    server.start()
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield SandboxControl(server.url, client)
    server.stop()


def test_hourly_send_cap_slides_with_the_scaled_hour(fast_sandbox: SandboxControl) -> None:
    alice = fast_sandbox.create_account("alice")
    fan = fast_sandbox.create_fan(alice, "Jane")
    with logged_in(fast_sandbox, alice) as client:
        assert send(client, fan.conversation_id, "one").status_code == 201
        assert send(client, fan.conversation_id, "two").status_code == 201
        refused = send(client, fan.conversation_id, "three")
        assert refused.status_code == 429
        time.sleep(refused.json()["retry_after_s"] + 0.02)
        assert send(client, fan.conversation_id, "three").status_code == 201
    assert [m.text for m in fast_sandbox.delivered(alice)] == ["one", "two", "three"]
    assert [r.reason for r in fast_sandbox.refusals(alice)] == ["hourly_send_cap"]


def test_old_refusals_table_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    database = Database(path)
    with database.transaction() as tx:
        account = create_account(tx, "alice", "hash", "Alice")
        conversation = create_fan(tx, account.id, "Jane")
    database.close()
    with sqlite3.connect(path) as conn:
        # The schema before the action cap: a refusal always named a conversation.
        conn.executescript(
            "DROP TABLE refusals; CREATE TABLE refusals (id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " account_id INTEGER NOT NULL, conversation_id INTEGER NOT NULL,"
            " reason TEXT NOT NULL, created_at TEXT NOT NULL);"
        )
        conn.execute(
            "INSERT INTO refusals (account_id, conversation_id, reason, created_at)"
            " VALUES (?, ?, 'min_send_gap', 'then')",
            (account.id, conversation.id),
        )
    database = Database(path)
    with database.transaction() as tx:
        record_refusal(tx, account.id, None, "actions_per_minute")
        rows = tx.execute("SELECT conversation_id, reason FROM refusals ORDER BY id").fetchall()
    database.close()
    assert [tuple(row) for row in rows] == [
        (conversation.id, "min_send_gap"),
        (None, "actions_per_minute"),
    ]
