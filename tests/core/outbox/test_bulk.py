"""Bulk sends are released one at a time per account, and always after a waiting reply."""

from __future__ import annotations

import pytest
import sqlalchemy
from fastapi.testclient import TestClient
from redis import Redis

from core.db import Database
from core.fleet import queues, rq_repairs
from tests.helpers.api import claim, make_account, make_conversation, make_send, progress, result
from tests.helpers.rows import Reconcile, audit_details, send_row
from tests.helpers.scraped import conv, ingest, msg


def _bulk(client: TestClient, operator: dict, conversation_ids: list[int]) -> list[dict]:
    response = client.post(
        "/v1/sends/bulk",
        headers=operator,
        json={"conversation_ids": conversation_ids, "text": "New set tonight 🔥"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["skipped"] == []
    return body["sends"]


def _deliver(client: TestClient, worker: dict, send_id: int, worker_id: str = "w1") -> None:
    assert claim(client, worker, send_id, worker_id).status_code == 200
    progress(client, worker, send_id, worker_id, "typing")
    progress(client, worker, send_id, worker_id, "submitted")
    done = result(
        client,
        worker,
        send_id,
        worker_id=worker_id,
        status="delivered",
        platform_message_id=f"pm-{send_id}",
    )
    assert done.status_code == 200, done.text


def _jobs(redis: Redis, sends: list[dict]) -> list[bool]:
    return [rq_repairs.job_exists(redis, queues.send_job_id(s["id"], s["attempt"])) for s in sends]


def test_each_bulk_send_is_audited_with_who_allowed_it_and_the_checks_that_ran(
    client: TestClient, admin: dict, operator: dict, worker: dict, db: Database
) -> None:
    account = make_account(client, admin)
    conversations = [
        make_conversation(client, worker, admin, account["id"], f"c-{n}")["id"] for n in range(3)
    ]
    sends = _bulk(client, operator, conversations)
    created = audit_details(db, "send.created")
    assert [(e["subject_id"], e["conversation_id"]) for e in created] == [
        (s["id"], s["conversation_id"]) for s in sends
    ]
    assert {(e["actor"], e["allowed_by"], e["source"], e["priority"]) for e in created} == {
        ("operator", "operator", "bulk", "bulk")
    }
    assert {tuple(e["checks"]) for e in created} == {("content_filter", "wellbeing_guard")}


def test_bulk_sends_go_out_one_at_a_time_per_account(
    client: TestClient, admin: dict, operator: dict, worker: dict, redis: Redis, db: Database
) -> None:
    account = make_account(client, admin)
    conversations = [
        make_conversation(client, worker, admin, account["id"], f"c-{n}")["id"] for n in range(4)
    ]
    sends = _bulk(client, operator, conversations)
    assert [s["priority"] for s in sends] == ["bulk"] * 4
    assert _jobs(redis, sends) == [True, False, False, False]

    _deliver(client, worker, sends[0]["id"])
    assert _jobs(redis, sends) == [True, True, False, False]


def test_a_mass_message_to_many_accounts_releases_the_first_send_of_each_at_once(
    client: TestClient, admin: dict, operator: dict, worker: dict, redis: Redis
) -> None:
    accounts = [make_account(client, admin, name=f"a-{n}")["id"] for n in range(3)]
    conversations = [
        make_conversation(client, worker, admin, account, f"c-{n}")["id"]
        for account in accounts
        for n in range(2)
    ]
    # The last account has a direct send waiting: its bulk line waits behind it.
    make_send(client, operator, conversations[-1], "answering you first")
    sends = _bulk(client, operator, conversations)
    assert _jobs(redis, sends) == [True, False, True, False, False, False]


def test_a_waiting_reply_goes_before_the_next_bulk_send(
    client: TestClient,
    admin: dict,
    operator: dict,
    worker: dict,
    redis: Redis,
    db: Database,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversations = [
        make_conversation(client, worker, admin, account["id"], f"c-{n}")["id"] for n in range(3)
    ]
    sends = _bulk(client, operator, conversations)
    direct = make_send(client, operator, conversations[0], "answering you first")

    # The released bulk send steps aside when a worker claims it: the direct send waits.
    stepped = claim(client, worker, sends[0]["id"], "w1")
    assert stepped.status_code == 409
    assert "steps aside" in stepped.json()["detail"]
    row = send_row(db, sends[0]["id"])
    assert (row.status.value, row.released_at, row.attempt, row.failed_attempts) == (
        "queued",
        None,
        2,
        0,
    )
    assert row.max_attempts == 3, "stepping aside must not change the send's budget"
    assert run_pass().bulk_released == [], "released while a direct send waits"

    _deliver(client, worker, direct["id"])
    released = send_row(db, sends[0]["id"])
    assert released.released_at is not None
    assert rq_repairs.job_exists(redis, queues.send_job_id(released.id, released.attempt))


def test_after_a_flush_only_the_released_bulk_send_is_restored(
    client: TestClient,
    admin: dict,
    operator: dict,
    worker: dict,
    redis: Redis,
    run_pass: Reconcile,
) -> None:
    account = make_account(client, admin)
    conversations = [
        make_conversation(client, worker, admin, account["id"], f"c-{n}")["id"] for n in range(3)
    ]
    sends = _bulk(client, operator, conversations)
    redis.flushdb()
    report = run_pass()
    assert report.sends_enqueued == [sends[0]["id"]]
    assert _jobs(redis, sends) == [True, False, False]
    missing = client.post(
        "/v1/sends/bulk", headers=operator, json={"conversation_ids": [999], "text": "x"}
    )
    assert missing.status_code == 404


# On PostgreSQL, where each statement is a round trip (SQLite's rows are inserted one
# statement each by SQLAlchemy, in-process).
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_mass_message_costs_the_same_queries_for_many_fans_as_for_few(
    client: TestClient, admin: dict, operator: dict, worker: dict, db: Database
) -> None:
    account = make_account(client, admin)
    chats = [conv(f"c-{n}", [msg(f"m-{n}", "inbound", n)], fan=f"fan-{n}") for n in range(24)]
    ingest(client, worker, account["id"], chats)
    listed = client.get("/v1/conversations?limit=200", headers=admin).json()["items"]
    conversations = sorted(c["id"] for c in listed)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sqlalchemy.event.listen(db.engine, "before_cursor_execute", count)
    try:
        few = len(statements)
        _bulk_ppv(client, operator, conversations[:3])
        few = len(statements) - few
        many = len(statements)
        _bulk_ppv(client, operator, conversations[3:])
        many = len(statements) - many
    finally:
        sqlalchemy.event.remove(db.engine, "before_cursor_execute", count)
    assert many == few, (few, many)


def _bulk_ppv(client: TestClient, operator: dict, conversation_ids: list[int]) -> None:
    response = client.post(
        "/v1/sends/bulk",
        headers=operator,
        json={"conversation_ids": conversation_ids, "text": "New set 🔥", "ppv_price_cents": 900},
    )
    assert response.status_code == 201, response.text
    assert len(response.json()["sends"]) == len(conversation_ids)
