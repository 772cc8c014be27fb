"""`/v1/fans`: operators list fans by filter, read one fan's history and annotate them;
admins export them as CSV. And a fan's data rights: an admin exports everything held about
them, and erases it at their request. Erased, the raw database holds none of their words
or the words written to them, the audit keeps who did what but no details, and nothing of
theirs is stored, drafted or sent again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from core.clock import utcnow
from core.db import Database
from tests.helpers.api import claim, make_account, progress
from tests.helpers.crm import FanSpec, Money, add_fans
from tests.helpers.scraped import conv, ingest, msg

FAN_WORDS = "my sister's wedding is on friday"
EDIT = "Congrats to your sister 💍"
NOTES = "lives in Leeds"


@dataclass(frozen=True)
class Held:
    """A fan with a conversation, a drafted and approved reply (edited) and its send, a
    second send waiting, and notes and tags on the fan."""

    account_id: int
    fan_id: int
    conversation_id: int
    approved_send: int
    waiting_send: int


@pytest.fixture
def held(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    db: Database,
    run_draft_jobs: Callable[[], int],
) -> Held:
    account_id = make_account(client, admin)["id"]
    ingest(client, worker, account_id, [conv("c1", [msg("m1", "inbound", 0, FAN_WORDS)])])
    run_draft_jobs()
    draft = client.get("/v1/drafts", headers=operator).json()["items"][0]
    approved = client.post(
        f"/v1/drafts/{draft['id']}/approve", headers=operator, json={"text": EDIT}
    ).json()
    conversation_id = approved["send"]["conversation_id"]
    waiting = client.post(
        "/v1/sends",
        headers=operator,
        json={"conversation_id": conversation_id, "text": "see you soon"},
    ).json()
    conversation = client.get(f"/v1/conversations/{conversation_id}", headers=operator).json()
    fan_id = conversation["fan"]["id"]
    with db.engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE fans SET notes = :notes, tags = :tags WHERE id = :id"),
            {"notes": NOTES, "tags": '["vip"]', "id": fan_id},
        )
    return Held(account_id, fan_id, conversation_id, approved["send"]["id"], waiting["id"])


def _raw_text(db: Database) -> str:
    """Every text-like column of every table, as one string."""
    with db.engine.connect() as connection:
        rows = [
            str(tuple(row))
            for table in ("fans", "messages", "drafts", "draft_feedback", "sends", "audit_events")
            for row in connection.execute(sa.text(f"SELECT * FROM {table}"))  # noqa: S608
        ]
    return "\n".join(rows)


def test_export_holds_the_fans_words_drafts_sends_and_audit(
    client: TestClient, admin: dict[str, str], held: Held
) -> None:
    response = client.get(f"/v1/fans/{held.fan_id}/export", headers=admin)
    assert response.status_code == 200, response.text
    data = response.json()
    assert (data["fan"]["name"], data["fan"]["notes"], data["fan"]["tags"]) == (
        "Sam Jones",
        NOTES,
        ["vip"],
    )
    assert [m["text"] for m in data["conversations"][0]["messages"]] == [FAN_WORDS]
    assert len(data["drafts"]) == 1
    assert {send["text"] for send in data["sends"]} == {EDIT, "see you soon"}
    actions = {(entry["subject_type"], entry["action"]) for entry in data["audit"]}
    assert {("draft", "draft.approved"), ("send", "send.created")} <= actions


def test_erasure_leaves_none_of_their_words_in_the_raw_database(
    client: TestClient, admin: dict[str, str], db: Database, held: Held
) -> None:
    assert FAN_WORDS in _raw_text(db) and EDIT in _raw_text(db)

    response = client.delete(f"/v1/fans/{held.fan_id}", headers=admin)

    assert response.status_code == 200, response.text
    erasure = response.json()
    assert (erasure["messages"], erasure["drafts"], erasure["sends"]) == (1, 1, 2)
    # Neither send had gone out: both were called off first.
    assert erasure["sends_cancelled"] == 2 and erasure["audit_entries"] > 0
    raw = _raw_text(db)
    for words in (FAN_WORDS, EDIT, "see you soon", NOTES, "Sam Jones", "sister"):
        assert words not in raw, words


def test_erasure_cancels_what_waits_and_redacts_the_audit_but_keeps_who_did_what(
    client: TestClient, admin: dict[str, str], operator: dict[str, str], held: Held
) -> None:
    client.delete(f"/v1/fans/{held.fan_id}", headers=admin)

    waiting = client.get(f"/v1/sends/{held.waiting_send}", headers=operator).json()
    assert (waiting["status"], waiting["text"]) == ("cancelled", "")
    entries = client.get(
        "/v1/audit",
        headers=admin,
        params={"subject_type": "send", "subject_id": held.approved_send},
    ).json()["items"]
    assert entries and all(entry["detail"] == {"redacted": True} for entry in entries)
    assert "send.created" in {entry["action"] for entry in entries}
    erased = client.get(
        "/v1/audit", headers=admin, params={"action": "fan.erased", "subject_type": "fan"}
    ).json()["items"]
    assert [(entry["subject_id"], entry["actor"]) for entry in erased] == [(held.fan_id, "admin")]


def test_an_erased_fan_is_never_stored_drafted_or_sent_to_again(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    worker: dict[str, str],
    held: Held,
    run_draft_jobs: Callable[[], int],
) -> None:
    client.delete(f"/v1/fans/{held.fan_id}", headers=admin)

    again = ingest(
        client,
        worker,
        held.account_id,
        [conv("c1", [msg("m1", "inbound", 0, FAN_WORDS), msg("m2", "inbound", 9, "hello?")])],
    )
    assert (again["inserted"], again["drafts_queued"]) == (0, 0)
    assert run_draft_jobs() == 0
    export = client.get(f"/v1/fans/{held.fan_id}/export", headers=admin).json()
    assert export["fan"]["name"] == "" and export["fan"]["erased_at"] is not None
    assert [m["text"] for m in export["conversations"][0]["messages"]] == [""]
    refused = client.post(
        "/v1/sends",
        headers=operator,
        json={"conversation_id": held.conversation_id, "text": "miss you"},
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"fan {held.fan_id} was erased at their request; nothing is sent to them"
    )


def test_erasure_waits_for_a_send_being_typed(
    client: TestClient, admin: dict[str, str], worker: dict[str, str], held: Held
) -> None:
    claim(client, worker, held.waiting_send, "w1")
    progress(client, worker, held.waiting_send, "w1", "typing")

    refused = client.delete(f"/v1/fans/{held.fan_id}", headers=admin)

    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"send(s) [{held.waiting_send}] to fan {held.fan_id} are being typed now; "
        "erase once they land"
    )


def test_an_unknown_fan_is_not_found(client: TestClient, admin: dict[str, str]) -> None:
    for method, path in (("DELETE", "/v1/fans/999"), ("GET", "/v1/fans/999/export")):
        response = client.request(method, path, headers=admin)
        assert (response.status_code, response.json()["detail"]) == (404, "fan 999 not found")


def _audit(client: TestClient, admin: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/v1/audit", headers=admin, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_the_audit_log_is_filtered_by_subject_actor_action_and_time(
    client: TestClient, admin: dict[str, str], held: Held
) -> None:
    everything = _audit(client, admin, limit=200)
    assert [entry["id"] for entry in everything] == sorted(
        (entry["id"] for entry in everything), reverse=True
    )
    by_operator = _audit(client, admin, actor="operator", limit=200)
    assert by_operator and {entry["actor"] for entry in by_operator} == {"operator"}
    created = _audit(client, admin, action="send.created", limit=200)
    assert {entry["subject_id"] for entry in created} == {held.approved_send, held.waiting_send}
    newest = everything[0]["at"]
    assert _audit(client, admin, since=newest, limit=200)[-1]["at"] >= newest
    assert all(entry["at"] < newest for entry in _audit(client, admin, until=newest, limit=200))
    first = client.get("/v1/audit", headers=admin, params={"limit": 2}).json()
    rest = _audit(client, admin, cursor=first["next_cursor"], limit=200)
    assert [e["id"] for e in first["items"] + rest] == [e["id"] for e in everything]


def test_bad_audit_filters_name_the_field(client: TestClient, admin: dict[str, str]) -> None:
    for params, field in (
        ({"since": "yesterday"}, "since"),
        ({"subject_id": 0}, "subject_id"),
        ({"limit": 1000}, "limit"),
    ):
        response = client.get("/v1/audit", headers=admin, params=params)
        assert response.status_code == 422, response.text
        assert [error["loc"] for error in response.json()["errors"]] == [["query", field]]


def test_operators_list_fans_by_filter_a_page_at_a_time(
    client: TestClient, operator: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    add_fans(
        db,
        account["id"],
        FanSpec("f1", spend_cents=100, tags=["vip", "night"]),
        FanSpec("f2", spend_cents=300, tags=["vip", "night"]),
        FanSpec("f3", spend_cents=200, tags=["vip"]),
    )
    first = client.get("/v1/fans?tags=vip,night&limit=1", headers=operator).json()
    assert [fan["platform_fan_id"] for fan in first["items"]] == ["f2"]
    assert first["items"][0]["tier"] == "low"
    second = client.get(
        f"/v1/fans?tags=vip&tags=night&limit=1&cursor={first['next_cursor']}", headers=operator
    ).json()
    assert [fan["platform_fan_id"] for fan in second["items"]] == ["f1"]
    assert second["next_cursor"] is None


def test_a_cursor_of_one_sort_is_a_422_in_the_other(
    client: TestClient, operator: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    add_fans(db, account["id"], FanSpec("f1", spend_cents=100), FanSpec("f2", spend_cents=300))
    by_spend = client.get("/v1/fans?limit=1", headers=operator).json()
    response = client.get(
        f"/v1/fans?sort=last_active&limit=1&cursor={by_spend['next_cursor']}", headers=operator
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert (error["loc"], error["msg"]) == (
        ["query", "cursor"],
        "written for another order of this listing",
    )


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("min_spend_cents=500&max_spend_cents=100", ["query", "max_spend_cents"]),
        ("min_spend_cents=-1", ["query", "min_spend_cents"]),
        ("tier=whale", ["query", "tier"]),
        ("tags=a;b", ["query", "tags", "0"]),
        ("active_since=1900-01-01", ["query", "active_since"]),
        ("q=" + "x" * 101, ["query", "q"]),
        ("sort=name", ["query", "sort"]),
        ("has_unpaid_ppv=maybe", ["query", "has_unpaid_ppv"]),
        ("cursor=bm90LWEtY3Vyc29y", ["query", "cursor"]),
    ],
)
def test_a_bad_filter_is_a_422_naming_it(
    client: TestClient, operator: dict[str, str], query: str, loc: list[str]
) -> None:
    response = client.get(f"/v1/fans?{query}", headers=operator)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == loc


def test_a_fan_shows_their_purchases_tips_and_spend_by_day(
    client: TestClient, operator: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    now = utcnow()
    ids = add_fans(
        db,
        account["id"],
        FanSpec(
            "f1",
            money=[
                Money(now - timedelta(days=1), tip_cents=500),
                Money(now - timedelta(days=2), ppv_price_cents=1_200, paid_at=now),
                Money(now - timedelta(days=1), ppv_price_cents=900),
            ],
        ),
    )
    response = client.get(f"/v1/fans/{ids['f1']}?days=3", headers=operator)
    assert response.status_code == 200, response.text
    fan = response.json()
    assert [p["price_cents"] for p in fan["purchases"]] == [1_200]
    assert [t["cents"] for t in fan["tips"]] == [500]
    assert [(d["tips_cents"], d["ppv_cents"]) for d in fan["spend_by_day"]] == [
        (0, 0),
        (500, 0),
        (0, 1_200),
    ]
    assert len(fan["recent_messages"]) == 3 and len(fan["conversations"]) == 1


def test_operators_tag_and_annotate_a_fan(
    client: TestClient, operator: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    ids = add_fans(db, account["id"], FanSpec("f1", tags=["vip"]))
    response = client.patch(
        f"/v1/fans/{ids['f1']}",
        headers=operator,
        json={"add_tags": ["Whale"], "notes": "birthday in May", "custom_fields": {"n": 2}},
    )
    assert response.status_code == 200, response.text
    fan = response.json()
    assert (fan["tags"], fan["notes"], fan["custom_fields"]) == (
        ["vip", "whale"],
        "birthday in May",
        {"n": 2},
    )


@pytest.mark.parametrize(
    ("body", "status", "loc"),
    [
        ({}, 422, ["body"]),
        ({"tags": ["ok", "a,b"]}, 422, ["body", "tags", 1]),
        ({"notes": "a\u0000b"}, 422, ["body"]),
        ({"notes": 5}, 422, ["body", "notes"]),
        ({"custom_fields": {"bad name": 1}}, 422, ["body", "custom_fields", "bad name"]),
        ({"colour": "red"}, 422, ["body", "colour"]),
        ({"add_tags": [f"t{n}" for n in range(50)]}, 422, ["body", "tags"]),
    ],
)
def test_a_bad_edit_is_a_422_naming_the_field(
    client: TestClient,
    operator: dict[str, str],
    db: Database,
    account: dict[str, Any],
    body: dict[str, Any],
    status: int,
    loc: list[Any],
) -> None:
    ids = add_fans(db, account["id"], FanSpec("f1", tags=["vip"]))
    response = client.patch(f"/v1/fans/{ids['f1']}", headers=operator, json=body)
    assert response.status_code == status, response.text
    assert response.json()["errors"][0]["loc"][: len(loc)] == loc


def test_an_erased_or_unknown_fan_takes_no_edit(
    client: TestClient, operator: dict[str, str], db: Database, account: dict[str, Any]
) -> None:
    ids = add_fans(db, account["id"], FanSpec("gone", erased=True))
    erased = client.patch(f"/v1/fans/{ids['gone']}", headers=operator, json={"notes": "x"})
    assert erased.status_code == 409
    unknown = client.patch("/v1/fans/999", headers=operator, json={"notes": "x"})
    assert unknown.status_code == 404


def test_admins_export_fans_as_csv(
    client: TestClient,
    admin: dict[str, str],
    operator: dict[str, str],
    db: Database,
    account: dict[str, Any],
) -> None:
    add_fans(db, account["id"], FanSpec("f1", tags=["vip"]), FanSpec("f2"))
    response = client.get("/v1/fans/export?tags=vip", headers=admin)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "fans.csv" in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert len(lines) == 2 and lines[1].split(",")[2] == "f1"
    assert client.get("/v1/fans/export", headers=operator).status_code == 403
