"""The console's review screen over HTTP: opening a draft claims it, a decision goes
through the same review and send gate as the API's, and every form needs its token."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.db import Database
from core.enums import Role
from core.models import Draft, Send
from tests.helpers.console import browser, form_token, make_user, sign_in
from tests.helpers.rows import audit_actions
from tests.helpers.seeding import Line, seed, seed_draft

MEETUP = "let's meet up irl, come over to my place"

# The pages are thin over `core`, whose own tests and the API's run on both databases:
# one will do here.
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _draft(db: Database, text: str = "Hi Sam, missed you") -> int:
    return seed_draft(db, seed(db, [Line("inbound", "hey")]), text)


def _signed_in(app: FastAPI, db: Database, name: str, role: Role = Role.operator) -> TestClient:
    make_user(db, name, role)
    client = browser(app)
    assert sign_in(client, name) == 303
    return client


def _decide(client: TestClient, draft_id: int, action: str, **fields: str) -> object:
    token = form_token(client.get(f"/console/drafts/{draft_id}").text)
    return client.post(
        f"/console/drafts/{draft_id}/{action}",
        data={"csrf": token, **fields},
        follow_redirects=False,
    )


def _sends(db: Database) -> list[str]:
    with db.session() as session:
        return [send.text for send in session.query(Send).order_by(Send.id)]


def test_opening_a_draft_claims_it_and_another_person_sees_who_holds_it(
    app: FastAPI, db: Database
) -> None:
    draft_id = _draft(db)
    with _signed_in(app, db, "mia") as mia, _signed_in(app, db, "sam") as sam:
        page = mia.get(f"/console/drafts/{draft_id}")
        assert page.status_code == 200 and 'id="approve"' in page.text
        held = sam.get(f"/console/drafts/{draft_id}")
        assert f"draft {draft_id} is claimed by mia" in held.text
        assert 'id="approve"' not in held.text
    assert ("draft.claimed", "mia") in audit_actions(db, "draft", draft_id)


def test_an_edit_is_sent_as_typed_with_its_line_break_and_emoji(app: FastAPI, db: Database) -> None:
    draft_id = _draft(db)
    with _signed_in(app, db, "mia") as mia:
        done = _decide(mia, draft_id, "approve", text="Hi Sam 👋🏽\r\nmissed you too")
        assert (done.status_code, done.headers["location"]) == (303, "/console")
    assert _sends(db) == ["Hi Sam 👋🏽\nmissed you too"]


def test_approving_moves_on_to_the_next_draft_of_the_queue(app: FastAPI, db: Database) -> None:
    first, second = _draft(db), _draft(db, "Another one")
    with _signed_in(app, db, "mia") as mia:
        done = _decide(mia, first, "approve", text="")
        assert done.headers["location"] == f"/console/drafts/{second}"
    assert _sends(db) == ["Hi Sam, missed you"]


def test_a_refused_text_stays_unsent_for_an_operator_and_goes_with_an_admins_reason(
    app: FastAPI, db: Database
) -> None:
    draft_id = _draft(db, MEETUP)
    with _signed_in(app, db, "mia") as mia:
        refused = _decide(mia, draft_id, "approve", text="", override_reason="trust me")
        assert refused.status_code == 403
        refused = _decide(mia, draft_id, "approve", text="")
        assert refused.status_code == 409
        assert "The send gate refused this text" in refused.text
        assert "filter:meeting" in refused.text
        assert "Only an admin may send past it" in refused.text
        token = form_token(refused.text)
        mia.post(f"/console/drafts/{draft_id}/release", data={"csrf": token})
    with _signed_in(app, db, "ada", Role.admin) as ada:
        sent = _decide(ada, draft_id, "approve", text="", override_reason="an old friend's joke")
        assert sent.status_code == 303
    assert _sends(db) == [MEETUP]
    assert ("send.override", "ada") in audit_actions(db, "draft", draft_id)


def test_a_rejection_needs_a_reason_and_is_kept_with_it(app: FastAPI, db: Database) -> None:
    draft_id = _draft(db)
    with _signed_in(app, db, "mia") as mia:
        missing = _decide(mia, draft_id, "reject", reason=" ")
        assert missing.status_code == 400
        assert "reason: a rejection needs one" in missing.text
        assert _decide(mia, draft_id, "reject", reason="too pushy").status_code == 303
    with db.session() as session:
        draft = session.get_one(Draft, draft_id)
        assert (draft.status.value, draft.reason, draft.decided_by) == (
            "rejected",
            "too pushy",
            "mia",
        )


def test_a_decision_without_the_sessions_token_is_refused(app: FastAPI, db: Database) -> None:
    draft_id = _draft(db)
    with _signed_in(app, db, "mia") as mia:
        mia.get(f"/console/drafts/{draft_id}")
        for action in ("approve", "reject", "release"):
            forged = mia.post(
                f"/console/drafts/{draft_id}/{action}", data={"csrf": "x", "reason": "r"}
            )
            assert forged.status_code == 403
    assert _sends(db) == []


def test_a_selection_is_approved_as_written_and_what_is_skipped_says_why(
    app: FastAPI, db: Database
) -> None:
    clean, blocked = _draft(db), _draft(db, MEETUP)
    with _signed_in(app, db, "mia") as mia:
        token = form_token(mia.get("/console").text)
        done = mia.post("/console/approve", data={"csrf": token, "ids": [clean, blocked]})
    assert done.status_code == 200
    assert "Approved 1; skipped 1:" in done.text
    assert f"draft {blocked}: " in done.text
    assert _sends(db) == ["Hi Sam, missed you"]


def test_approving_a_selection_needs_one_and_the_sessions_token(app: FastAPI, db: Database) -> None:
    draft_id = _draft(db)
    with _signed_in(app, db, "mia") as mia:
        token = form_token(mia.get("/console").text)
        empty = mia.post("/console/approve", data={"csrf": token})
        assert empty.status_code == 400
        assert "ids: select at least one draft" in empty.text
        forged = mia.post("/console/approve", data={"csrf": "x", "ids": [draft_id]})
        assert forged.status_code == 403
    assert _sends(db) == []


def test_the_fan_panel_writes_tags_and_notes_audited(app: FastAPI, db: Database) -> None:
    draft_id = _draft(db)
    with _signed_in(app, db, "mia") as mia:
        done = _decide(mia, draft_id, "fan", tags="vip, night owl,", notes="likes cats\r\nand rain")
        assert (done.status_code, done.headers["location"]) == (303, f"/console/drafts/{draft_id}")
        long_tag = _decide(mia, draft_id, "fan", tags="x" * 100, notes="")
        assert long_tag.status_code == 400
        assert "tags.0: " in long_tag.text
    with db.session() as session:
        fan = session.get_one(Draft, draft_id).conversation.fan
        assert (fan.tags, fan.notes) == (["vip", "night owl"], "likes cats\nand rain")
        fan_id = fan.id
    assert ("fan.updated", "mia") in audit_actions(db, "fan", fan_id)


def test_a_message_of_ones_own_goes_through_the_gate(app: FastAPI, db: Database) -> None:
    draft_id = _draft(db)
    with _signed_in(app, db, "mia") as mia:
        sent = _decide(
            mia, draft_id, "send", message="A set for you", ppv_price_cents="1500",
            media="vault-2, vault-1",
        )  # fmt: skip
        assert sent.status_code == 303
        refused = _decide(mia, draft_id, "send", message=MEETUP, ppv_price_cents="")
        assert refused.status_code == 409
        assert "filter:meeting" in refused.text
        empty = _decide(mia, draft_id, "send", message="  ")
        assert empty.status_code == 400 and "message: required" in empty.text
    with db.session() as session:
        assert [(s.text, s.ppv_price_cents, s.media) for s in session.query(Send)] == [
            ("A set for you", 1500, ["vault-2", "vault-1"])
        ]


def test_an_edit_is_checked_by_the_filter_before_approval(app: FastAPI, db: Database) -> None:
    draft_id = _draft(db)
    with _signed_in(app, db, "mia") as mia:
        held = _decide(mia, draft_id, "check", text=MEETUP)
        assert "The filter would hold this text: meeting." in held.text
        clean = _decide(mia, draft_id, "check", text="See you in my next post")
        assert "The filter finds nothing to hold." in clean.text
        assert (
            mia.post(f"/console/drafts/{draft_id}/check", data={"text": MEETUP}).status_code == 403
        )
    assert _sends(db) == []
