"""The send state machine as workers drive it: claim, progress, result, retries."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis

from api.app import create_app
from core.db import Database
from core.fleet.queues import send_job_id
from core.fleet.rq_repairs import job_exists
from core.settings import Settings
from tests.helpers.api import ApiKeys, claim, progress, result
from tests.helpers.rows import audit_actions, audit_details, hold_lease
from tests.helpers.scraped import conv, ingest, msg
from tests.helpers.stores import free_port


@pytest.fixture
def conversation(
    client: TestClient, worker: dict[str, str], admin: dict[str, str], account: dict[str, Any]
) -> dict[str, Any]:
    ingest(client, worker, account["id"], [conv("c-1", [msg("m1", "inbound", 0)])])
    return client.get("/v1/conversations", headers=admin).json()["items"][0]


@pytest.fixture
def send(
    client: TestClient, operator: dict[str, str], conversation: dict[str, Any]
) -> dict[str, Any]:
    response = client.post(
        "/v1/sends",
        headers=operator,
        json={
            "conversation_id": conversation["id"],
            "text": "New set tonight",
            "ppv_price_cents": 999,
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_direct_send_is_queued_with_a_job(
    send: dict[str, Any], redis: Redis, account: dict[str, Any]
) -> None:
    assert send["status"] == "queued"
    assert send["priority"] == "direct"
    assert send["ppv_price_cents"] == 999
    assert send["created_by"] == "operator"
    assert send["account_id"] == account["id"]
    assert job_exists(redis, send_job_id(send["id"], 1))


def _deliver(client: TestClient, worker: dict[str, str], send_id: int, **artifacts: str) -> Any:
    """Claim, type, submit and deliver the send as worker w1; the delivery's response."""
    assert claim(client, worker, send_id, "w1").status_code == 200
    assert progress(client, worker, send_id, "w1", "typing").status_code == 200
    assert progress(client, worker, send_id, "w1", "submitted").status_code == 200
    return result(
        client,
        worker,
        send_id,
        worker_id="w1",
        status="delivered",
        platform_message_id="pm-77",
        artifacts=artifacts,
    )


def test_a_claim_hands_the_worker_its_ticket_and_the_account(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    send: dict[str, Any],
    account: dict[str, Any],
) -> None:
    response = claim(client, worker, send["id"], "w1")
    assert response.status_code == 200, response.text
    ticket = response.json()
    assert (ticket["verify"], ticket["attempt"], ticket["text"]) == (False, 1, "New set tonight")
    assert (ticket["ppv_price_cents"], ticket["platform_conversation_id"]) == (999, "c-1")
    assert ticket["account"] == {
        "account_id": account["id"],
        "profile": "sandbox",
        "base_url": "http://127.0.0.1:8710",
        "pacing": {
            "min_send_gap_s": None,
            "sends_per_hour": None,
            "actions_per_minute": None,
            "daily_send_cap": None,
        },
    }
    assert client.get(f"/v1/sends/{send['id']}", headers=admin).json()["status"] == "claimed"


def test_progress_moves_forward_only_and_only_for_the_holding_worker(
    client: TestClient, worker: dict[str, str], send: dict[str, Any]
) -> None:
    send_id = send["id"]
    assert claim(client, worker, send_id, "w1").status_code == 200
    assert progress(client, worker, send_id, "w1", "typing").json()["status"] == "typing"
    # A retried progress report is harmless; another worker's is refused.
    assert progress(client, worker, send_id, "w1", "typing").status_code == 200
    other = progress(client, worker, send_id, "w2", "submitted")
    assert other.status_code == 409
    assert other.json()["detail"] == f"send {send_id} is held by worker 'w1', not 'w2'"
    submitted = progress(client, worker, send_id, "w1", "submitted").json()
    assert submitted["status"] == "submitted"
    assert submitted["typing_at"] <= submitted["submitted_at"]
    backwards = progress(client, worker, send_id, "w1", "typing")
    assert backwards.status_code == 409
    assert "cannot go back to typing" in backwards.json()["detail"]


def test_progress_takes_only_typing_or_submitted(
    client: TestClient, worker: dict[str, str], send: dict[str, Any]
) -> None:
    assert claim(client, worker, send["id"], "w1").status_code == 200
    not_progress = progress(client, worker, send["id"], "w1", "delivered")
    assert not_progress.status_code == 409
    assert "typing or submitted" in not_progress.json()["detail"]


def test_a_delivery_needs_its_platform_message_id(
    client: TestClient, worker: dict[str, str], send: dict[str, Any]
) -> None:
    assert claim(client, worker, send["id"], "w1").status_code == 200
    no_id = result(client, worker, send["id"], worker_id="w1", status="delivered")
    assert no_id.status_code == 409
    assert no_id.json()["detail"] == "a delivered send needs its platform_message_id"


def test_a_delivered_send_keeps_its_platform_id_and_artifacts(
    client: TestClient, worker: dict[str, str], send: dict[str, Any]
) -> None:
    done = _deliver(client, worker, send["id"], screenshot="var/artifacts/s.png")
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["platform_message_id"]) == ("delivered", "pm-77")
    assert body["delivered_at"] is not None
    assert body["artifacts"] == {"screenshot": "var/artifacts/s.png"}


def test_a_repeated_delivery_report_changes_nothing_and_the_send_is_final(
    client: TestClient, worker: dict[str, str], send: dict[str, Any]
) -> None:
    send_id = send["id"]
    first = _deliver(client, worker, send_id).json()
    repeat = result(
        client, worker, send_id, worker_id="w1", status="delivered", platform_message_id="pm-77"
    )
    assert repeat.status_code == 200
    assert repeat.json()["delivered_at"] == first["delivered_at"]
    assert claim(client, worker, send_id, "w3").status_code == 409
    assert result(client, worker, send_id, worker_id="w1", status="failed").status_code == 409


def test_a_delivered_send_is_stored_as_our_message_which_the_next_scrape_holds(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    send: dict[str, Any],
    conversation: dict[str, Any],
    account: dict[str, Any],
) -> None:
    _deliver(client, worker, send["id"])
    url = f"/v1/conversations/{conversation['id']}/messages"
    newest = client.get(url, headers=admin).json()["items"][0]
    assert (newest["platform_message_id"], newest["direction"], newest["text"]) == (
        "pm-77",
        "outbound",
        "New set tonight",
    )
    assert (newest["ppv_price_cents"], newest["ppv_paid"]) == (999, False)
    scraped = msg("pm-77", "outbound", 30, "New set tonight", ppv_price_cents=999, ppv_paid=False)
    again = ingest(client, worker, account["id"], [conv("c-1", [scraped])])
    assert again == {"inserted": 0, "duplicates": 1, "drafts_queued": 0}


def test_each_step_of_a_send_is_audited_with_who_took_it(
    client: TestClient, worker: dict[str, str], db: Database, send: dict[str, Any]
) -> None:
    _deliver(client, worker, send["id"])
    assert audit_actions(db, "send", send["id"]) == [
        ("send.created", "operator"),
        ("send.claimed", "w1"),
        ("send.typing", "w1"),
        ("send.submitted", "w1"),
        ("send.delivered", "w1"),
    ]


def test_reclaim_after_a_dead_attempt_asks_to_verify(
    client: TestClient, worker: dict[str, str], send: dict[str, Any]
) -> None:
    send_id = send["id"]
    claim(client, worker, send_id, "w1")
    progress(client, worker, send_id, "w1", "typing")
    progress(client, worker, send_id, "w1", "submitted")
    # w1 died after pressing send; RQ hands the job to w2.
    ticket = claim(client, worker, send_id, "w2").json()
    assert ticket["verify"] is True
    stale = result(
        client, worker, send_id, worker_id="w1", status="delivered", platform_message_id="x"
    )
    assert stale.status_code == 409
    delivered = result(
        client, worker, send_id, worker_id="w2", status="delivered", platform_message_id="pm-1"
    )
    assert delivered.json()["status"] == "delivered"


def test_a_second_worker_cannot_claim_a_send_while_its_claimant_holds_the_account(
    client: TestClient,
    worker: dict[str, str],
    redis: Redis,
    settings: Settings,
    send: dict[str, Any],
) -> None:
    send_id = send["id"]
    claim(client, worker, send_id, "w1")
    hold_lease(redis, settings, send["account_id"], "w1")
    second = claim(client, worker, send_id, "w2")
    assert second.status_code == 409
    assert second.json()["detail"] == (
        f"send {send_id} is claimed by worker w1, which holds its account"
    )
    assert claim(client, worker, send_id, "w1").status_code == 200  # its own job, again
    # Once the claimant's lease is gone, the send is an abandoned attempt: re-claimed, verified.
    redis.delete(*redis.keys(f"{settings.redis_key_prefix}*lease*"))
    assert claim(client, worker, send_id, "w2").json()["verify"] is True


def test_retryable_failures_requeue_until_the_last_attempt(
    client: TestClient,
    worker: dict[str, str],
    admin: dict[str, str],
    redis: Redis,
    send: dict[str, Any],
) -> None:
    send_id = send["id"]
    assert claim(client, worker, send_id, "w1").json()["verify"] is False
    failed = result(
        client, worker, send_id, worker_id="w1", status="failed", error="timeout", retryable=True
    ).json()
    assert (failed["status"], failed["attempt"], failed["last_error"]) == ("queued", 2, "timeout")
    assert failed["worker_id"] is None
    assert job_exists(redis, send_job_id(send_id, 2))

    # Attempt 1 failed before typing: attempt 2 may type straight away.
    ticket = claim(client, worker, send_id, "w2").json()
    assert (ticket["attempt"], ticket["verify"]) == (2, False)
    progress(client, worker, send_id, "w2", "typing")
    result(client, worker, send_id, worker_id="w2", status="failed", error="again", retryable=True)
    assert job_exists(redis, send_job_id(send_id, 3))

    # Attempt 2 had started typing, so attempt 3 must read the thread before it types.
    ticket = claim(client, worker, send_id, "w3").json()
    assert (ticket["attempt"], ticket["verify"]) == (3, True)
    final = result(
        client,
        worker,
        send_id,
        worker_id="w3",
        status="failed",
        error="composer missing",
        retryable=True,
        artifacts={"html": "var/a.html"},
    ).json()
    assert (final["status"], final["attempt"], final["last_error"]) == (
        "failed",
        3,
        "composer missing",
    )
    assert final["artifacts"] == {"html": "var/a.html"}
    assert not job_exists(redis, send_job_id(send_id, 4))
    assert claim(client, worker, send_id, "w4").status_code == 409
    listed = client.get("/v1/sends?status=failed", headers=admin).json()
    assert [s["id"] for s in listed["items"]] == [send_id]
    assert len(client.get("/v1/sends?status=queued", headers=admin).json()["items"]) == 0


def test_non_retryable_failure_is_final(
    client: TestClient, worker: dict[str, str], send: dict[str, Any]
) -> None:
    claim(client, worker, send["id"], "w1")
    final = result(
        client, worker, send["id"], worker_id="w1", status="failed", error="account banned"
    ).json()
    assert (final["status"], final["attempt"]) == ("failed", 1)


def test_result_needs_a_claim(
    client: TestClient, worker: dict[str, str], send: dict[str, Any]
) -> None:
    early = result(
        client, worker, send["id"], worker_id="w1", status="delivered", platform_message_id="p"
    )
    assert early.status_code == 409
    assert early.json()["detail"] == f"send {send['id']} is queued, not in flight"
    wrong = result(client, worker, send["id"], worker_id="w1", status="typing")
    assert wrong.status_code == 409
    assert "delivered or failed" in wrong.json()["detail"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_rows_are_kept_when_redis_is_down(settings: Settings, api_keys: ApiKeys) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    with TestClient(create_app(down)) as client:
        worker, operator = api_keys.headers("worker"), api_keys.headers("operator")
        account = client.post(
            "/v1/accounts",
            headers=api_keys.headers("admin"),
            json={"name": "A", "username": "a", "password": "p"},
        ).json()
        batch = [conv("c", [msg("m", "inbound", 0)])]
        assert ingest(client, worker, account["id"], batch) == {
            "inserted": 1,
            "duplicates": 0,
            "drafts_queued": 0,
        }
        conversation = client.get("/v1/conversations", headers=operator).json()["items"][0]
        body = {"conversation_id": conversation["id"], "text": "hi"}
        created = client.post("/v1/sends", headers=operator, json=body)
        assert created.status_code == 201
        assert (
            client.get(f"/v1/sends/{created.json()['id']}", headers=operator).json()["status"]
            == "queued"
        )


@pytest.mark.parametrize("held", [True, False], ids=["lease-held", "lease-gone"])
def test_a_result_records_whether_its_worker_still_held_the_lease(
    client: TestClient,
    worker: dict[str, str],
    db: Database,
    redis: Redis,
    settings: Settings,
    send: dict[str, Any],
    held: bool,
) -> None:
    if held:
        hold_lease(redis, settings, send["account_id"], "w1")
    assert _deliver(client, worker, send["id"]).status_code == 200
    [delivered] = audit_details(db, "send.delivered")
    assert delivered["lease_held"] is held
