"""The nudge pass: which silences earn a follow-up or a re-engagement, never twice; what
is never nudged; and the pass through core, the API (queued on the `ai` queue, counted
against the asking operator's LLM requests) and `fleet nudge`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from redis import Redis
from rq import Queue
from rq.job import Job
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.db import Database
from core.drafting.offline import TEMPLATES, OfflineDrafter
from core.drafting.providers import get_drafter
from core.enums import AccountStatus, Direction, DraftStatus, SendStatus
from core.errors import InvalidState
from core.fleet.queues import QueueName
from core.guardrails.policy import NUDGES_OFF, ApprovalPolicy
from core.models import Account, AiUsage, AuditEvent, Conversation, Draft, Message, Send
from core.priority import stamp
from core.review.decisions import approve_draft
from core.review.nudges import due, run_nudges
from core.review.writing import write_draft
from core.settings import Settings, get_settings
from tests.helpers.api import ApiKeys
from tests.helpers.llm_stub import STUB_KEY, STUB_MODEL, LLMStub
from tests.helpers.seeding import T0, Line, Seeded, seed
from tests.helpers.stores import REPO, TEST_KEY_PREFIX

H = 60  # minutes in an hour
D = 24 * H
FAN_THEN_US = [Line("inbound", "hey you", 0), Line("outbound", "hi babe, how was work?", H)]
# Nudges are opt-in: every account nudged here opted in.
NUDGES_ON: dict[str, Any] = {"nudges": True}

# id, the conversation, nudges already drafted for the fan's last message, hours after
# T0 it is, the policy, the nudge due (None: none).
DUE: list[tuple[str, list[Line], list[str], float, dict[str, Any], str | None]] = [
    ("fan-spoke-last", [Line("inbound", "hey", 0)], [], 48, {}, None),
    ("ours-too-recent", FAN_THEN_US, [], 24.5, {}, None),
    ("follow-up", FAN_THEN_US, [], 25, {}, "follow_up"),
    ("own-follow-up-hours", FAN_THEN_US, [], 4, {"follow_up_after_h": 2}, "follow_up"),
    ("long-silence-skips-to-re-engage", FAN_THEN_US, [], 7 * 24, {}, "re_engage"),
    ("own-re-engage-days", FAN_THEN_US, [], 49, {"re_engage_after_days": 2}, "re_engage"),
    ("fan-never-wrote", [Line("outbound", "new set!", 0)], [], 30 * 24, {}, None),
    ("followed-up-not-silent-long", FAN_THEN_US, ["follow_up"], 6 * 24, {}, None),
    ("followed-up-then-silent-long", FAN_THEN_US, ["follow_up"], 7 * 24, {}, "re_engage"),
    ("re-engaged-already", FAN_THEN_US, ["re_engage"], 60 * 24, {}, None),
    ("both-already", FAN_THEN_US, ["follow_up", "re_engage"], 60 * 24, {}, None),
    (
        "our-follow-up-too-recent-for-re-engage",
        [*FAN_THEN_US, Line("outbound", "still there?", 7 * D - 2 * H)],
        ["follow_up"],
        7 * 24 + 1,
        {},
        None,
    ),
    (
        "fan-answered-our-follow-up",
        [*FAN_THEN_US, Line("outbound", "still there?", 2 * D), Line("inbound", "yes!", 3 * D)],
        ["follow_up"],
        30 * 24,
        {},
        None,
    ),
]


def _nudged(db: Database, conversation_id: int, message_id: int, kind: str, **row: Any) -> int:
    """A nudge draft already written for `message_id`."""
    with db.session() as session:
        draft = Draft(
            conversation_id=conversation_id,
            message_id=message_id,
            kind=kind,
            text="earlier nudge",
            provider="offline",
            status=row.pop("status", DraftStatus.rejected),
            **row,
        )
        stamp(draft, session.get_one(Message, message_id))
        session.add(draft)
        session.commit()
        return draft.id


@pytest.mark.parametrize(
    ("lines", "nudged", "hours", "policy", "expected"),
    [case[1:] for case in DUE],
    ids=[case[0] for case in DUE],
)
def test_which_nudge_is_due(
    db: Database,
    lines: list[Line],
    nudged: list[str],
    hours: float,
    policy: dict[str, Any],
    expected: str | None,
) -> None:
    seeded = seed(db, lines)
    inbound = [
        i for i, line in zip(seeded.message_ids, lines, strict=True) if line.direction == "inbound"
    ]
    for kind in nudged:
        _nudged(db, seeded.conversation_id, inbound[-1], kind)
    with db.session() as session:
        nudge = due(
            session,
            seeded.conversation_id,
            ApprovalPolicy.model_validate(policy),
            T0 + timedelta(hours=hours),
        )
    if expected is None:
        assert nudge is None
    else:
        assert nudge is not None
        assert (nudge.kind, nudge.message.id) == (expected, inbound[-1])


def _run(
    db: Database, redis: Redis, settings: Settings, now: datetime, **kwargs: Any
) -> list[Draft]:
    with db.session() as session:
        drafts = run_nudges(
            session,
            redis,
            settings,
            kwargs.pop("drafter", OfflineDrafter()),
            account_id=kwargs.pop("account_id", None),
            actor="test",
            now=now,
            **kwargs,
        )
        session.expunge_all()
        return drafts


def test_a_silence_gets_a_follow_up_then_a_re_engagement_never_twice(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    fans_last = seeded.message_ids[0]
    day2 = T0 + timedelta(days=2)

    [draft] = _run(db, redis, settings, day2)
    assert (draft.kind, draft.message_id, draft.status) == ("follow_up", fans_last, "pending")
    assert (draft.detected_kind, draft.kind_confidence, draft.kind_source) == (
        "follow_up",
        100,
        "rule",
    )
    assert draft.provider == "offline" and draft.ppv_price_cents is None
    openings = [t.replace("{ name}", " Sam") for t in TEMPLATES["follow_up"]["flirty"]]
    assert any(draft.text.startswith(opening) for opening in openings), draft.text
    # Pending: nothing more. Rejected: this silence had its follow-up.
    assert _run(db, redis, settings, day2) == []
    with db.session() as session:
        session.get_one(Draft, draft.id).status = DraftStatus.rejected
        session.commit()
    assert _run(db, redis, settings, day2 + timedelta(days=3)) == []

    [again] = _run(db, redis, settings, T0 + timedelta(days=8))
    assert (again.kind, again.message_id) == ("re_engage", fans_last)
    with db.session() as session:
        session.get_one(Draft, again.id).status = DraftStatus.rejected
        session.commit()
    assert _run(db, redis, settings, T0 + timedelta(days=60)) == []


def test_flagged_pending_or_sending_conversations_are_not_nudged(
    db: Database, redis: Redis, settings: Settings
) -> None:
    flagged = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    pending = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    sending = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    delivered = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    with db.session() as session:
        session.get_one(Conversation, flagged.conversation_id).flagged_for_review = True
        for seeded, status in ((sending, SendStatus.queued), (delivered, SendStatus.delivered)):
            session.add(
                Send(
                    account_id=seeded.account_id,
                    conversation_id=seeded.conversation_id,
                    text="on its way",
                    status=status,
                    priority="direct",
                    artifacts={},
                    created_by="operator",
                )
            )
        session.commit()
    # An operator's draft still waiting on an older message of the conversation.
    _nudged(db, pending.conversation_id, pending.message_ids[0], "reply", status="pending")

    drafts = _run(db, redis, settings, T0 + timedelta(days=2))
    assert [d.conversation_id for d in drafts] == [delivered.conversation_id]


def test_paused_accounts_and_nudges_off_are_skipped_or_refused(
    db: Database, redis: Redis, settings: Settings
) -> None:
    paused = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    off = seed(db, FAN_THEN_US, policy={"nudges": False})
    on = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    # An account that never chose is not nudged: unsolicited messages are opt-in.
    unset = seed(db, FAN_THEN_US)
    with db.session() as session:
        session.get_one(Account, paused.account_id).status = AccountStatus.paused
        session.commit()
    now = T0 + timedelta(days=2)
    assert [d.conversation_id for d in _run(db, redis, settings, now)] == [on.conversation_id]
    with pytest.raises(InvalidState, match=f"account {paused.account_id} is paused"):
        _run(db, redis, settings, now, account_id=paused.account_id)
    with pytest.raises(InvalidState, match=f"account {off.account_id} has nudges off"):
        _run(db, redis, settings, now, account_id=off.account_id)
    with pytest.raises(InvalidState, match=f"account {unset.account_id} has nudges off"):
        _run(db, redis, settings, now, account_id=unset.account_id)


def test_a_nudge_is_auto_sent_only_with_nudges_and_auto_send_both_on(
    db: Database, redis: Redis, settings: Settings
) -> None:
    # The offline follow-up's 70 clears this threshold: only the opt-ins decide.
    lenient = {"confidence_threshold": 50}
    off = seed(db, FAN_THEN_US, auto_send=True, policy=lenient)
    on = seed(db, FAN_THEN_US, auto_send=True, policy={**lenient, **NUDGES_ON})
    now = T0 + timedelta(days=2)
    with db.session() as session:
        for seeded in (off, on):
            write_draft(
                session,
                redis,
                settings,
                OfflineDrafter(),
                session.get_one(Message, seeded.message_ids[0]),
                nudge="follow_up",
                now=now,
            )
        held = session.query(AuditEvent).filter_by(action="draft.auto_send_held").one()
        assert held.detail["reasons"] == [NUDGES_OFF]
        by_conversation = {d.conversation_id: d.status for d in session.query(Draft)}
    assert by_conversation == {
        off.conversation_id: DraftStatus.pending,
        on.conversation_id: DraftStatus.approved,
    }


def test_a_limit_caps_the_drafts_per_account(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    with db.session() as session:
        # A second silent conversation on the same account.
        conversation = Conversation(
            account_id=seeded.account_id,
            fan_id=seeded.fan_id,
            platform_conversation_id="c-2",
            last_message_at=T0 + timedelta(minutes=H),
        )
        session.add(conversation)
        session.commit()
    assert len(_run(db, redis, settings, T0 + timedelta(days=2), limit=1)) == 1


def test_nudges_are_drafted_like_any_draft(
    db: Database, redis: Redis, llm_settings: Settings, llm_stub: LLMStub
) -> None:
    """The LLM is told the kind and the silence; auto-send's policy routes the draft."""
    seeded = seed(
        db,
        FAN_THEN_US,
        spend_cents=10_000,
        auto_send=True,
        policy={**NUDGES_ON, "confidence_threshold": 80},
    )
    [draft] = _run(
        db, redis, llm_settings, T0 + timedelta(days=3), drafter=get_drafter(llm_settings)
    )
    system = llm_stub.requests[0].system
    assert "Draft kind: follow_up. Follow up on the conversation" in system
    assert "- silent for: 3 days" in system
    assert '"kind":' not in system
    assert "priced" not in system
    assert [turn for turn, _ in llm_stub.requests[0].turns] == ["user", "assistant"]
    # The stub's 90 clears the threshold: auto-send sent it, as for any draft.
    assert draft.provider == "openai"
    with db.session() as session:
        send = session.query(Send).filter_by(draft_id=draft.id).one()
        assert send.created_by == "policy:auto_send"
        assert send.conversation_id == seeded.conversation_id


def _drafts(client: TestClient, api_keys: ApiKeys) -> list[dict[str, Any]]:
    return client.get("/v1/drafts", headers=api_keys.headers("operator")).json()["items"]


@pytest.fixture
def silent(db: Database) -> Seeded:
    """An opted-in account whose fan has been silent for three days since our last line."""
    return seed(db, FAN_THEN_US, start=utcnow() - timedelta(days=3), policy=NUDGES_ON)


def _ask(client: TestClient, headers: dict[str, str], account_id: int, query: str = "") -> Any:
    """`POST /v1/accounts/{account_id}/nudges` as the holder of `headers`."""
    return client.post(f"/v1/accounts/{account_id}/nudges{query}", headers=headers)


def _job_id(seeded: Seeded) -> str:
    """The id of the nudge pass of `seeded`'s account."""
    return f"nudges-{seeded.account_id}"


@pytest.fixture
def nudge(
    client: TestClient, api_keys: ApiKeys, silent: Seeded, run_draft_jobs: Callable[[], int]
) -> dict[str, Any]:
    """The draft an operator's pass over `silent`'s account wrote, as the queue lists it."""
    assert _ask(client, api_keys.headers("operator"), silent.account_id).status_code == 202
    assert run_draft_jobs() == 1
    [draft] = _drafts(client, api_keys)
    return draft


def test_a_worker_may_not_ask_for_a_nudge_pass(
    client: TestClient, api_keys: ApiKeys, silent: Seeded
) -> None:
    assert _ask(client, api_keys.headers("worker"), silent.account_id).status_code == 403


def test_a_nudge_pass_is_limited_to_at_least_one_draft(
    client: TestClient, api_keys: ApiKeys, silent: Seeded
) -> None:
    bad = _ask(client, api_keys.headers("operator"), silent.account_id, "?limit=0")
    assert bad.status_code == 422
    assert "query.limit: Input should be greater than or equal to 1" in bad.json()["detail"]


def test_a_nudge_pass_for_an_unknown_account_is_not_found(
    client: TestClient, api_keys: ApiKeys
) -> None:
    assert _ask(client, api_keys.headers("admin"), 424242).json() == {
        "detail": "account 424242 not found"
    }


def test_the_api_queues_a_nudge_pass_and_drafts_nothing_itself(
    client: TestClient, api_keys: ApiKeys, redis: Redis, silent: Seeded
) -> None:
    response = _ask(client, api_keys.headers("operator"), silent.account_id)
    assert response.status_code == 202, response.text
    assert response.json() == {"job_id": _job_id(silent), "queued": True}
    assert _drafts(client, api_keys) == []
    assert Queue(QueueName.ai.value, connection=redis).job_ids == [_job_id(silent)]


def test_asking_again_joins_the_waiting_pass(
    client: TestClient, api_keys: ApiKeys, redis: Redis, silent: Seeded
) -> None:
    operator = api_keys.headers("operator")
    assert _ask(client, operator, silent.account_id).status_code == 202
    again = _ask(client, operator, silent.account_id)
    assert (again.status_code, again.json()) == (202, {"job_id": _job_id(silent), "queued": False})
    assert Queue(QueueName.ai.value, connection=redis).job_ids == [_job_id(silent)]


def test_the_pass_drafts_the_follow_up_due(
    redis: Redis, silent: Seeded, nudge: dict[str, Any]
) -> None:
    assert (nudge["kind"], nudge["kind_source"], nudge["message_id"]) == (
        "follow_up",
        "rule",
        silent.message_ids[0],
    )
    assert Job.fetch(_job_id(silent), connection=redis).return_value() == [nudge["id"]]


def test_the_pass_is_audited_for_the_operator_who_asked(
    db: Database, silent: Seeded, nudge: dict[str, Any]
) -> None:
    with db.session() as session:
        run = session.query(AuditEvent).filter_by(action="nudges.run").one()
        assert (run.actor, run.subject_id, run.detail) == (
            "operator",
            silent.account_id,
            {"drafted": [nudge["id"]]},
        )


def test_a_nudge_never_jumps_the_queue_as_overdue(nudge: dict[str, Any]) -> None:
    # The fan wrote three days ago, far past the response target, but nobody is waiting.
    assert nudge["overdue"] is False
    assert nudge["waiting_s"] < 60


def test_a_finished_pass_is_queued_anew_and_finds_nothing_more_due(
    client: TestClient,
    api_keys: ApiKeys,
    silent: Seeded,
    nudge: dict[str, Any],
    run_draft_jobs: Callable[[], int],
) -> None:
    again = _ask(client, api_keys.headers("operator"), silent.account_id)
    assert again.json() == {"job_id": _job_id(silent), "queued": True}
    assert run_draft_jobs() == 1
    assert [d["id"] for d in _drafts(client, api_keys)] == [nudge["id"]]


def test_a_paused_account_is_refused_a_nudge_pass(
    client: TestClient, api_keys: ApiKeys, silent: Seeded
) -> None:
    patched = client.patch(
        f"/v1/accounts/{silent.account_id}",
        headers=api_keys.headers("admin"),
        json={"status": "paused"},
    )
    assert patched.status_code == 200
    paused = _ask(client, api_keys.headers("operator"), silent.account_id)
    assert paused.status_code == 409
    assert paused.json()["detail"] == f"account {silent.account_id} is paused; nothing is nudged"


def test_an_operators_pass_counts_against_their_hourly_llm_requests(
    client: TestClient,
    api_keys: ApiKeys,
    db: Database,
    llm_stub: LLMStub,
    run_draft_jobs: Callable[[], int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The ai worker reads the process settings: the stub, one LLM call per operator-hour.
    for name, value in {
        "FLEET_OPENAI_BASE_URL": llm_stub.url,
        "FLEET_OPENAI_API_KEY": STUB_KEY,
        "FLEET_OPENAI_MODEL": STUB_MODEL,
        "FLEET_AI_OPERATOR_REQUESTS_PER_HOUR": "1",
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    start = utcnow() - timedelta(days=3)
    first = seed(db, FAN_THEN_US, start=start, policy=NUDGES_ON)
    second = seed(db, FAN_THEN_US, start=start, policy=NUDGES_ON)
    operator = api_keys.headers("operator")

    for seeded in (first, second):
        response = client.post(f"/v1/accounts/{seeded.account_id}/nudges", headers=operator)
        assert response.status_code == 202, response.text
        run_draft_jobs()

    with db.session() as session:
        drafts = session.query(Draft).order_by(Draft.id).all()
        assert [(d.conversation_id, d.provider, d.fallback_reason) for d in drafts] == [
            (first.conversation_id, "openai", None),
            (
                second.conversation_id,
                "offline",
                "operator operator hourly LLM request limit reached (1/1 in the last hour)",
            ),
        ]
        usage = session.query(AiUsage).order_by(AiUsage.id).all()
        assert [(u.actor, u.llm_called) for u in usage] == [("operator", True), ("operator", False)]
    assert len(llm_stub.requests) == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_fleet_nudge_drafts_what_is_due(db: Database, settings: Settings) -> None:
    seeded = seed(db, FAN_THEN_US, policy=NUDGES_ON, start=utcnow() - timedelta(days=2))
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": settings.database_url,
        "FLEET_REDIS_URL": settings.redis_url or "",
        "FLEET_REDIS_KEY_PREFIX": TEST_KEY_PREFIX,
        "FLEET_LOG_LEVEL": "WARNING",
    }

    def fleet(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "nudge", *args],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    done = fleet()
    assert done.returncode == 0, done.stderr
    with db.session() as session:
        draft = session.query(Draft).one()
    assert done.stdout == (
        f"draft {draft.id} (follow_up) for conversation {seeded.conversation_id}\n"
    )
    assert fleet().stdout == ""
    unknown = fleet("--account", "999")
    assert unknown.returncode == 2
    assert "account 999 not found" in unknown.stderr


def test_the_database_keeps_one_reply_and_one_nudge_of_each_kind_per_message(
    db: Database,
) -> None:
    seeded = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    fans_last = seeded.message_ids[0]
    for kind in ("reply", "follow_up", "re_engage"):
        _nudged(db, seeded.conversation_id, fans_last, kind)
    for kind in ("ppv_offer", "follow_up", "re_engage"):
        with pytest.raises(IntegrityError):
            _nudged(db, seeded.conversation_id, fans_last, kind)


def test_a_nudge_the_fan_has_answered_cannot_be_approved(
    db: Database, redis: Redis, settings: Settings
) -> None:
    seeded = seed(db, FAN_THEN_US, policy=NUDGES_ON)
    [draft] = _run(db, redis, settings, T0 + timedelta(days=2))
    with db.session() as session:
        session.add(
            Message(
                conversation_id=seeded.conversation_id,
                platform_message_id="back",
                direction=Direction.inbound,
                text="sorry, was busy!",
                sent_at=T0 + timedelta(days=2, minutes=5),
            )
        )
        session.commit()
        with pytest.raises(InvalidState, match="the fan has written since; reject it"):
            approve_draft(session, redis, settings, draft.id, actor="operator")
        session.rollback()
        assert session.query(Send).count() == 0
