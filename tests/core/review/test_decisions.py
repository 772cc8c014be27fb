"""A reviewer's decisions through the API: claims and their lock, approving a draft (as
written, as a variant, edited, with the disclosure line), bulk approval, rejection, and
the gate at approval: a blocked draft needs an admin's audited override, and an edit is
filtered like any text."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from redis import Redis

from core.clock import utcnow
from core.db import Database
from core.fleet.queues import QueueName, send_job_id
from core.fleet.rq_repairs import job_exists
from core.models import AuditEvent, Draft, Send
from tests.helpers.api import ApiKeys, LiveApi, MintKey, pending_draft_over_api
from tests.helpers.drafts import CONTACT_DRAFT, drafted
from tests.helpers.llm_stub import LLMStub, StubReply
from tests.helpers.rows import audit_details, feedback_of, queued_job_ids
from tests.helpers.seeding import DraftFor, Line, Seeded, seed

# What the stub drafts unless told otherwise; nothing in it trips the filter.
CLEAN = "Hey you, thanks!"
OVERRIDE_REASON = "fan's own support line, checked"
# An edit that would take the fan's money off the platform.
SNEAKY = "venmo me at @mia_xo"


def _draft_saying(
    db: Database, draft_for: DraftFor, llm_stub: LLMStub, text: str, fan_says: str = "hi"
) -> int:
    """A pending draft of `text` for a new fan's message; scripted for this one request, so
    drafts written later still get the stub's default."""
    llm_stub.will(StubReply.draft(text))
    return drafted(draft_for, seed(db, [Line("inbound", fan_says)]).last)


@pytest.fixture
def blocked_draft(db: Database, draft_for: DraftFor, llm_stub: LLMStub) -> int:
    """A pending draft the content filter blocks: a phone number and a handle."""
    return _draft_saying(db, draft_for, llm_stub, CONTACT_DRAFT, "how can I reach you?")


@pytest.fixture
def clean_draft(db: Database, draft_for: DraftFor, llm_stub: LLMStub) -> int:
    """A pending draft nothing blocks."""
    return _draft_saying(db, draft_for, llm_stub, CLEAN)


def _approve(
    client: TestClient, headers: dict[str, str], draft_id: int, **body: Any
) -> httpx.Response:
    return client.post(f"/v1/drafts/{draft_id}/approve", headers=headers, json=body)


def _gate_record(db: Database, redis: Redis) -> tuple[list[str], list[str]]:
    """Whom the gate refused, oldest first, and the send jobs queued."""
    refused = [e["actor"] for e in audit_details(db, "send.refused")]
    return refused, queued_job_ids(redis, QueueName.send)


def test_a_blocked_draft_is_listed_with_its_reasons_and_hits(
    client: TestClient, api_keys: ApiKeys, blocked_draft: int
) -> None:
    [listed] = client.get("/v1/drafts", headers=api_keys.headers("operator")).json()["items"]
    assert listed["id"] == blocked_draft
    assert listed["blocked"] is True
    assert listed["block_reasons"] == ["filter:phone_number", "filter:platform_handle"]
    spans = [(h["rule"], CONTACT_DRAFT[h["start"] : h["end"]]) for h in listed["filter_hits"]]
    assert spans == [("phone_number", "555-123-4567"), ("platform_handle", "snapchat")]
    assert listed["guard_signals"] == []


def test_the_queue_filters_on_blocked(
    client: TestClient, api_keys: ApiKeys, blocked_draft: int
) -> None:
    operator = api_keys.headers("operator")
    assert len(client.get("/v1/drafts?blocked=true", headers=operator).json()["items"]) == 1
    assert len(client.get("/v1/drafts?blocked=false", headers=operator).json()["items"]) == 0


def test_the_content_filter_audits_a_drafts_hits_per_rule(db: Database, blocked_draft: int) -> None:
    [hits] = audit_details(db, "draft.filter_hits")
    assert hits == {
        "actor": "policy:content_filter",
        "subject_id": blocked_draft,
        "phone_number": 1,
        "platform_handle": 1,
    }


def test_an_operator_cannot_approve_a_blocked_draft(
    client: TestClient, api_keys: ApiKeys, db: Database, redis: Redis, blocked_draft: int
) -> None:
    refused = _approve(client, api_keys.headers("operator"), blocked_draft)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"draft {blocked_draft} is blocked (filter:phone_number, filter:platform_handle); "
        "only an admin can approve it, with override and an override_reason"
    )
    assert _gate_record(db, redis) == (["operator"], [])


@pytest.mark.parametrize("text", [CONTACT_DRAFT, CLEAN], ids=["blocked", "clean"])
def test_an_operator_may_not_override_whatever_the_draft(
    client: TestClient,
    api_keys: ApiKeys,
    db: Database,
    redis: Redis,
    draft_for: DraftFor,
    llm_stub: LLMStub,
    text: str,
) -> None:
    draft_id = _draft_saying(db, draft_for, llm_stub, text)
    forbidden = _approve(
        client, api_keys.headers("operator"), draft_id, override=True, override_reason="fine"
    )
    assert forbidden.status_code == 403
    assert "only an admin may override" in forbidden.json()["detail"]
    # A role question, settled before the gate looks at the draft: no refusal on record.
    assert _gate_record(db, redis) == ([], [])


def test_an_admin_without_an_explicit_override_is_refused_like_anyone(
    client: TestClient, api_keys: ApiKeys, db: Database, redis: Redis, blocked_draft: int
) -> None:
    assert _approve(client, api_keys.headers("admin"), blocked_draft).status_code == 409
    assert _gate_record(db, redis) == (["admin"], [])


def test_an_override_needs_a_reason(
    client: TestClient, api_keys: ApiKeys, db: Database, redis: Redis, blocked_draft: int
) -> None:
    no_reason = _approve(client, api_keys.headers("admin"), blocked_draft, override=True)
    assert no_reason.status_code == 422
    assert "override needs an override_reason" in no_reason.json()["detail"]
    # A malformed request, refused before the gate: no refusal on record.
    assert _gate_record(db, redis) == ([], [])


def test_an_override_reason_needs_the_override(
    client: TestClient, api_keys: ApiKeys, db: Database, redis: Redis, blocked_draft: int
) -> None:
    stray = _approve(client, api_keys.headers("admin"), blocked_draft, override_reason="why")
    assert stray.status_code == 422
    # A malformed request, refused before the gate: no refusal on record.
    assert _gate_record(db, redis) == ([], [])


@pytest.fixture
def overridden(client: TestClient, api_keys: ApiKeys, blocked_draft: int) -> dict[str, Any]:
    """The answer to an admin approving the blocked draft with an override and a reason."""
    response = _approve(
        client,
        api_keys.headers("admin"),
        blocked_draft,
        override=True,
        override_reason=OVERRIDE_REASON,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_admins_override_with_a_reason_sends_the_blocked_draft(
    redis: Redis, overridden: dict[str, Any]
) -> None:
    assert overridden["draft"]["status"] == "approved"
    assert overridden["draft"]["override_reason"] == OVERRIDE_REASON
    assert overridden["send"]["text"] == CONTACT_DRAFT
    assert len(queued_job_ids(redis, QueueName.send)) == 1


def test_an_override_is_audited_with_what_it_overrode(
    db: Database, blocked_draft: int, overridden: dict[str, Any]
) -> None:
    [override] = audit_details(db, "send.override")
    assert (override["actor"], override["subject_id"], override["source"]) == (
        "admin",
        blocked_draft,
        "draft",
    )
    assert override["reasons"] == ["filter:phone_number", "filter:platform_handle"]
    assert override["override_reason"] == OVERRIDE_REASON
    [approved] = audit_details(db, "draft.approved")
    assert (approved["actor"], approved["override"], approved["edited"]) == ("admin", True, False)


def test_an_edit_is_filtered_like_any_text(
    client: TestClient, api_keys: ApiKeys, clean_draft: int
) -> None:
    sneaky = _approve(client, api_keys.headers("operator"), clean_draft, text=SNEAKY)
    assert sneaky.status_code == 409
    assert "filter:off_platform_payment" in sneaky.json()["detail"]


def test_a_refused_edit_leaves_the_draft_as_it_was(
    client: TestClient, api_keys: ApiKeys, clean_draft: int
) -> None:
    operator = api_keys.headers("operator")
    assert _approve(client, operator, clean_draft, text=SNEAKY).status_code == 409
    draft = client.get(f"/v1/drafts/{clean_draft}", headers=operator).json()
    assert (draft["text"], draft["blocked"], draft["filter_hits"]) == (CLEAN, False, [])


def test_a_refused_edit_is_on_record(
    client: TestClient, api_keys: ApiKeys, db: Database, clean_draft: int
) -> None:
    _approve(client, api_keys.headers("operator"), clean_draft, text=SNEAKY)
    [refused] = audit_details(db, "send.refused")
    assert refused["reasons"] == ["filter:off_platform_payment"]


def test_the_personas_forbidden_words_count_in_edits(
    client: TestClient, api_keys: ApiKeys, clean_draft: int
) -> None:
    daddy = _approve(client, api_keys.headers("operator"), clean_draft, text="thanks daddy")
    assert daddy.status_code == 409
    assert "filter:forbidden_word" in daddy.json()["detail"]


def test_an_operator_who_edits_the_contact_details_out_may_approve(
    client: TestClient, api_keys: ApiKeys, blocked_draft: int
) -> None:
    edit = "let's keep chatting here 😘"
    fixed = _approve(client, api_keys.headers("operator"), blocked_draft, text=edit)
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["draft"]["blocked"] is False
    assert fixed.json()["draft"]["filter_hits"] == []
    assert fixed.json()["send"]["text"] == edit


def test_an_edit_cannot_clear_a_guard_block(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "I'm 16, is that ok?")]).last)
    response = client.post(
        f"/v1/drafts/{draft_id}/approve",
        headers=api_keys.headers("operator"),
        json={"text": "Hey, thanks for the message!"},
    )
    assert response.status_code == 409
    assert "guard:minor" in response.json()["detail"]


def _headers(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def second_operator(mint_key: MintKey) -> dict[str, str]:
    """Headers of another operator, `operator-2`."""
    return _headers(mint_key("operator", "operator-2"))


def _claim(client: TestClient, headers: dict[str, str], draft_id: int) -> httpx.Response:
    return client.post(f"/v1/drafts/{draft_id}/claim", headers=headers)


def _release(client: TestClient, headers: dict[str, str], draft_id: int) -> httpx.Response:
    return client.post(f"/v1/drafts/{draft_id}/release", headers=headers)


def _claims(db: Database) -> list[tuple[str, int]]:
    """The audited claims, oldest first, as (actor, draft id)."""
    return [(e["actor"], e["subject_id"]) for e in audit_details(db, "draft.claimed")]


def _lapse_claim(db: Database, draft_id: int) -> None:
    """Let the draft's claim run out, as when its holder walks away."""
    with db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None
        draft.claim_expires_at = utcnow() - timedelta(seconds=1)
        session.commit()


def test_the_first_claim_wins_the_draft(
    client: TestClient, api_keys: ApiKeys, db: Database, clean_draft: int
) -> None:
    won = _claim(client, api_keys.headers("operator"), clean_draft)
    assert won.status_code == 200, won.text
    assert won.json()["claimed_by"] == "operator"
    assert won.json()["claim_expires_at"] is not None
    assert _claims(db) == [("operator", clean_draft)]


def test_a_claim_that_ran_out_is_not_shown_as_held(
    client: TestClient, api_keys: ApiKeys, db: Database, clean_draft: int
) -> None:
    operator = api_keys.headers("operator")
    assert _claim(client, operator, clean_draft).status_code == 200
    _lapse_claim(db, clean_draft)
    listed = client.get("/v1/drafts", headers=operator, params={"status": "pending"}).json()
    shown = client.get(f"/v1/drafts/{clean_draft}", headers=operator).json()
    for draft in (listed["items"][0], shown):
        assert (draft["claimed_by"], draft["claim_expires_at"]) == (None, None)


def test_a_claimed_draft_refuses_another_operators_claim(
    client: TestClient,
    api_keys: ApiKeys,
    second_operator: dict[str, str],
    db: Database,
    clean_draft: int,
) -> None:
    assert _claim(client, api_keys.headers("operator"), clean_draft).status_code == 200
    lost = _claim(client, second_operator, clean_draft)
    assert lost.status_code == 409
    assert lost.json()["detail"].startswith(
        f"draft {clean_draft} is claimed by operator for another"
    )
    # Only the claim that won is on record.
    assert _claims(db) == [("operator", clean_draft)]


def test_the_holder_may_renew_their_claim(
    client: TestClient, api_keys: ApiKeys, db: Database, clean_draft: int
) -> None:
    operator = api_keys.headers("operator")
    assert _claim(client, operator, clean_draft).status_code == 200
    assert _claim(client, operator, clean_draft).status_code == 200
    # A renewal is recorded as one, not as a second claim.
    assert _claims(db) == [("operator", clean_draft)]
    assert [e["actor"] for e in audit_details(db, "draft.claim_renewed")] == ["operator"]


@pytest.mark.parametrize(("decision", "body"), [("approve", {}), ("reject", {"reason": "nope"})])
def test_another_operator_may_not_decide_over_a_claim(
    client: TestClient,
    api_keys: ApiKeys,
    second_operator: dict[str, str],
    clean_draft: int,
    decision: str,
    body: dict[str, Any],
) -> None:
    assert _claim(client, api_keys.headers("operator"), clean_draft).status_code == 200
    decided = client.post(
        f"/v1/drafts/{clean_draft}/{decision}", headers=second_operator, json=body
    )
    assert decided.status_code == 409
    assert "is claimed by operator" in decided.json()["detail"]


def test_only_the_holder_may_release_a_claim(
    client: TestClient, api_keys: ApiKeys, second_operator: dict[str, str], clean_draft: int
) -> None:
    assert _claim(client, api_keys.headers("operator"), clean_draft).status_code == 200
    refused = _release(client, second_operator, clean_draft)
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        f"draft {clean_draft} is claimed by operator; only they can release it"
    )


def test_a_released_draft_is_free_for_anyone_to_claim(
    client: TestClient,
    api_keys: ApiKeys,
    second_operator: dict[str, str],
    db: Database,
    clean_draft: int,
) -> None:
    operator = api_keys.headers("operator")
    assert _claim(client, operator, clean_draft).status_code == 200
    released = _release(client, operator, clean_draft)
    assert released.status_code == 200
    assert (released.json()["claimed_by"], released.json()["claim_expires_at"]) == (None, None)
    assert _claim(client, second_operator, clean_draft).status_code == 200
    releases = [(e["actor"], e["holder"]) for e in audit_details(db, "draft.released")]
    assert releases == [("operator", "operator")]
    assert _claims(db) == [("operator", clean_draft), ("operator-2", clean_draft)]


def test_an_admin_may_drop_anyones_claim(
    client: TestClient,
    api_keys: ApiKeys,
    second_operator: dict[str, str],
    db: Database,
    clean_draft: int,
) -> None:
    assert _claim(client, second_operator, clean_draft).status_code == 200
    assert _release(client, api_keys.headers("admin"), clean_draft).status_code == 200
    assert _claim(client, api_keys.headers("operator"), clean_draft).status_code == 200
    releases = [(e["actor"], e["holder"]) for e in audit_details(db, "draft.released")]
    assert releases == [("admin", "operator-2")]


def test_a_lapsed_claim_holds_nobody_back(
    client: TestClient,
    api_keys: ApiKeys,
    second_operator: dict[str, str],
    db: Database,
    clean_draft: int,
) -> None:
    assert _claim(client, api_keys.headers("operator"), clean_draft).status_code == 200
    _lapse_claim(db, clean_draft)
    approved = _approve(client, second_operator, clean_draft)
    assert approved.status_code == 200, approved.text
    assert approved.json()["draft"]["claimed_by"] is None
    assert approved.json()["draft"]["decided_by"] == "operator-2"


def test_a_decided_draft_cannot_be_claimed(
    client: TestClient, api_keys: ApiKeys, clean_draft: int
) -> None:
    operator = api_keys.headers("operator")
    assert _approve(client, operator, clean_draft).status_code == 200
    assert _claim(client, operator, clean_draft).status_code == 409


def test_a_claim_lasts_the_scaled_review_lock(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)
    before = utcnow()
    client.post(f"/v1/drafts/{draft_id}/claim", headers=api_keys.headers("operator"))
    after = utcnow()
    with db.session() as session:
        draft = session.get(Draft, draft_id)
        assert draft is not None and draft.claim_expires_at is not None
        expires = draft.claim_expires_at
    # review_lock_s 300 at time scale 0.01: three seconds from the claim, made between
    # `before` and `after` however long the request took.
    lock = timedelta(seconds=3)
    assert before + lock <= expires <= after + lock


def _race_claims(url: str, keys: list[str], draft_id: int) -> dict[str, int]:
    """Every key claims `draft_id` at once, from its own thread; the status each got."""
    barrier = threading.Barrier(len(keys))
    statuses: dict[str, int] = {}

    def claim(key: str) -> None:
        with httpx.Client(base_url=url, headers=_headers(key)) as http:
            barrier.wait()
            statuses[key] = http.post(f"/v1/drafts/{draft_id}/claim").status_code

    threads = [threading.Thread(target=claim, args=(key,)) for key in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return statuses


def test_racing_claims_one_wins(
    live_api: LiveApi, mint_key: MintKey, db: Database, draft_for: DraftFor
) -> None:
    names = {live_api.operator_key: "operator", mint_key("operator", "operator-2"): "operator-2"}
    for round_ in range(4):
        draft_id = drafted(draft_for, seed(db, [Line("inbound", f"hi {round_}")]).last)
        statuses = _race_claims(live_api.url, list(names), draft_id)
        assert sorted(statuses.values()) == [200, 409], statuses
        [winner] = [names[key] for key, status in statuses.items() if status == 200]
        with db.session() as session:
            assert session.get_one(Draft, draft_id).claimed_by == winner


def test_approving_a_variant_as_written(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor, llm_stub: LLMStub
) -> None:
    llm_stub.default = StubReply.variants(("first", 90, "a"), ("second 😘", 80, "b"))
    draft_id = drafted(draft_for, seed(db, [Line("inbound", "hi")]).last)
    response = client.post(
        f"/v1/drafts/{draft_id}/approve", headers=api_keys.headers("operator"), json={"variant": 1}
    )
    assert response.status_code == 200, response.text
    assert response.json()["send"]["text"] == "second 😘"
    row = feedback_of(db, draft_id)
    assert (row.variant, row.original_text, row.final_text, row.edit_distance) == (
        1,
        "second 😘",
        "second 😘",
        0,
    )
    assert audit_details(db, "draft.approved")[0]["edited"] is False


DISCLOSURE = "(AI-assisted reply)"


def _set_policy(
    client: TestClient, api_keys: ApiKeys, account_id: int, policy: dict[str, Any]
) -> httpx.Response:
    return client.patch(
        f"/v1/accounts/{account_id}", headers=api_keys.headers("admin"), json={"policy": policy}
    )


@pytest.fixture
def disclosing(client: TestClient, api_keys: ApiKeys, db: Database) -> Seeded:
    """A fan's message on an account whose policy adds `DISCLOSURE` to what it sends."""
    seeded = seed(db, [Line("inbound", "hi")])
    patched = _set_policy(client, api_keys, seeded.account_id, {"disclosure": DISCLOSURE})
    assert patched.status_code == 200, patched.text
    return seeded


@pytest.fixture
def disclosed(
    client: TestClient, api_keys: ApiKeys, draft_for: DraftFor, disclosing: Seeded
) -> dict[str, Any]:
    """The answer to an operator approving, as written, the draft for `disclosing`'s fan."""
    draft_id = drafted(draft_for, disclosing.last)
    approved = _approve(client, api_keys.headers("operator"), draft_id)
    assert approved.status_code == 200, approved.text
    return approved.json()


def test_the_disclosure_is_off_until_an_admin_sets_it(
    client: TestClient, api_keys: ApiKeys, db: Database
) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    account_url = f"/v1/accounts/{seeded.account_id}"
    admin = api_keys.headers("admin")
    assert client.get(account_url, headers=admin).json()["policy"]["disclosure"] is None
    policy = {"disclosure": DISCLOSURE, "confidence_threshold": 90}
    patched = _set_policy(client, api_keys, seeded.account_id, policy)
    assert patched.status_code == 200, patched.text
    assert patched.json()["policy"] == {
        "confidence_threshold": 90,
        "ppv_price_threshold_cents": 5_000,
        "response_target_s": 300.0,
        "disclosure": DISCLOSURE,
        "daily_token_cap": None,
        "daily_spend_cap_cents": None,
        "sweep_every_s": None,
        "nudges": False,
        "follow_up_after_h": 24.0,
        "re_engage_after_days": 7.0,
    }


def test_an_approved_drafts_send_ends_with_the_disclosure(
    db: Database, disclosed: dict[str, Any]
) -> None:
    assert disclosed["send"]["text"] == f"{CLEAN}\n{DISCLOSURE}"
    assert audit_details(db, "draft.approved")[0]["disclosure"] is True


def test_the_disclosure_stays_out_of_the_draft_and_its_feedback(
    db: Database, disclosed: dict[str, Any]
) -> None:
    assert disclosed["draft"]["text"] == CLEAN
    assert feedback_of(db, disclosed["draft"]["id"]).final_text == CLEAN


def test_a_direct_send_carries_no_disclosure(
    client: TestClient, api_keys: ApiKeys, disclosing: Seeded
) -> None:
    direct = client.post(
        "/v1/sends",
        headers=api_keys.headers("operator"),
        json={"conversation_id": disclosing.conversation_id, "text": "written by me"},
    )
    assert direct.status_code in (200, 201), direct.text
    assert direct.json()["text"] == "written by me"


def test_an_approval_whose_disclosure_would_overflow_the_send_is_refused(
    client: TestClient, api_keys: ApiKeys, db: Database, draft_for: DraftFor
) -> None:
    seeded = seed(db, [Line("inbound", "hey")])
    patched = _set_policy(client, api_keys, seeded.account_id, {"disclosure": "x" * 200})
    assert patched.status_code == 200, patched.text
    draft_id = drafted(draft_for, seeded.last)
    operator = api_keys.headers("operator")
    too_long = _approve(client, operator, draft_id, text="y" * 4_900)
    assert too_long.status_code == 409
    assert "a send holds at most 5000" in too_long.json()["detail"]
    assert client.get(f"/v1/drafts/{draft_id}", headers=operator).json()["status"] == "pending"


UNKNOWN_DRAFT = 999_999


@dataclass(frozen=True)
class BulkApproval:
    """One bulk approval of a clean draft, a blocked one, one another operator claimed, a
    rejected one and an id no draft has, in that order; and its answer."""

    clean: int
    blocked: int
    claimed: int
    decided: int
    holder: dict[str, str]  # headers of the operator holding `claimed`
    body: dict[str, Any]

    def result(self, draft_id: int) -> dict[str, Any]:
        """The answer's result for `draft_id`."""
        [found] = [r for r in self.body["results"] if r["id"] == draft_id]
        return found


@pytest.fixture
def bulk(
    client: TestClient,
    api_keys: ApiKeys,
    second_operator: dict[str, str],
    db: Database,
    draft_for: DraftFor,
    clean_draft: int,
    blocked_draft: int,
) -> BulkApproval:
    operator = api_keys.headers("operator")
    decided = drafted(draft_for, seed(db, [Line("inbound", "hey")]).last)
    claimed = drafted(draft_for, seed(db, [Line("inbound", "hello")]).last)
    rejected = client.post(f"/v1/drafts/{decided}/reject", headers=operator, json={"reason": "no"})
    assert rejected.status_code == 200, rejected.text
    assert _claim(client, second_operator, claimed).status_code == 200
    response = client.post(
        "/v1/drafts/approve",
        headers=operator,
        json={"ids": [clean_draft, blocked_draft, claimed, decided, UNKNOWN_DRAFT]},
    )
    assert response.status_code == 200, response.text
    return BulkApproval(
        clean_draft, blocked_draft, claimed, decided, second_operator, response.json()
    )


def test_bulk_approve_counts_what_it_approved_and_skipped(bulk: BulkApproval) -> None:
    assert (bulk.body["approved"], bulk.body["skipped"]) == (1, 4)


def test_bulk_approve_answers_each_id_in_the_order_asked(bulk: BulkApproval) -> None:
    assert [r["id"] for r in bulk.body["results"]] == [
        bulk.clean,
        bulk.blocked,
        bulk.claimed,
        bulk.decided,
        UNKNOWN_DRAFT,
    ]


def test_bulk_approve_approves_a_clean_draft_and_names_its_send(
    db: Database, bulk: BulkApproval
) -> None:
    with db.session() as session:
        [send] = session.query(Send).all()
    result = bulk.result(bulk.clean)
    assert (result["status"], result["reason"], result["send_id"]) == ("approved", None, send.id)


def test_bulk_approve_skips_a_blocked_draft_and_says_why(bulk: BulkApproval) -> None:
    result = bulk.result(bulk.blocked)
    assert result["status"] == "skipped"
    assert result["reason"].startswith(f"draft {bulk.blocked} is blocked (filter:phone")


def test_bulk_approve_skips_a_draft_another_operator_claimed_and_says_why(
    bulk: BulkApproval,
) -> None:
    result = bulk.result(bulk.claimed)
    assert result["status"] == "skipped"
    assert result["reason"].startswith(f"draft {bulk.claimed} is claimed by operator-2")


def test_bulk_approve_skips_a_decided_draft_and_says_why(bulk: BulkApproval) -> None:
    result = bulk.result(bulk.decided)
    assert result["status"] == "skipped"
    assert result["reason"] == (
        f"draft {bulk.decided} is rejected; only pending drafts can be decided"
    )


def test_bulk_approve_skips_an_unknown_draft_and_says_why(bulk: BulkApproval) -> None:
    result = bulk.result(UNKNOWN_DRAFT)
    assert (result["status"], result["reason"]) == ("skipped", f"draft {UNKNOWN_DRAFT} not found")


def test_a_draft_skipped_for_its_claim_stays_with_its_holder(
    client: TestClient, api_keys: ApiKeys, bulk: BulkApproval
) -> None:
    held = client.get(f"/v1/drafts/{bulk.claimed}", headers=api_keys.headers("operator")).json()
    assert (held["status"], held["claimed_by"]) == ("pending", "operator-2")
    assert _approve(client, bulk.holder, bulk.claimed).status_code == 200


def test_approve_queues_a_reply_send(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    db: Database,
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    draft = pending_draft_over_api(client, worker, operator, account["id"], run_draft_jobs)
    response = client.post(
        f"/v1/drafts/{draft['id']}/approve", headers=operator, json={"text": "Hey Sam, thanks!"}
    )
    assert response.status_code == 200, response.text
    approved, send = response.json()["draft"], response.json()["send"]
    assert approved["status"] == "approved"
    assert approved["decided_by"] == "operator"
    assert approved["text"] == "Hey Sam, thanks!"
    assert send["status"] == "queued"
    assert send["priority"] == "reply"
    assert send["attempt"] == 1
    assert send["draft_id"] == draft["id"]
    assert send["text"] == "Hey Sam, thanks!"
    assert send["created_by"] == "operator"
    assert queued_job_ids(redis, QueueName.send) == [send_job_id(send["id"], 1)]
    assert job_exists(redis, send_job_id(send["id"], 1))

    conflict = client.post(f"/v1/drafts/{draft['id']}/approve", headers=operator, json={})
    assert conflict.status_code == 409
    assert conflict.json()["detail"] == (
        f"draft {draft['id']} is approved; only pending drafts can be decided"
    )
    reject = client.post(f"/v1/drafts/{draft['id']}/reject", headers=operator, json={"reason": "x"})
    assert reject.status_code == 409
    with db.session() as session:
        actions = [
            (e.action, e.actor, e.detail.get("edited"))
            for e in session.query(AuditEvent).filter_by(subject_type="draft").order_by("id")
        ]
    assert actions[-1] == ("draft.approved", "operator", True)
    assert len(client.get("/v1/drafts", headers=operator).json()["items"]) == 0
    listed = client.get("/v1/drafts?status=approved", headers=operator).json()
    assert len(listed["items"]) == 1


def test_reject_keeps_the_reason(
    client: TestClient,
    worker: dict[str, str],
    operator: dict[str, str],
    redis: Redis,
    account: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    draft = pending_draft_over_api(client, worker, operator, account["id"], run_draft_jobs)
    missing = client.post(f"/v1/drafts/{draft['id']}/reject", headers=operator, json={})
    assert missing.status_code == 422
    response = client.post(
        f"/v1/drafts/{draft['id']}/reject", headers=operator, json={"reason": "too forward"}
    )
    assert response.status_code == 200
    rejected = response.json()
    assert (rejected["status"], rejected["reason"], rejected["decided_by"]) == (
        "rejected",
        "too forward",
        "operator",
    )
    assert queued_job_ids(redis, QueueName.send) == []
    again = client.post(f"/v1/drafts/{draft['id']}/approve", headers=operator, json={})
    assert again.status_code == 409
