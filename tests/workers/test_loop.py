"""The whole loop through real parts: sweep → ingest → draft → approve → type → deliver."""

from __future__ import annotations

import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.db import Database
from core.fleet.lease import AccountLease
from core.models import AuditEvent
from core.recovery.reconcile import reconcile
from sandbox.config import SandboxConfig
from tests.helpers.fleet import Fleet, on_own_sandbox

TYPED = "Thank you so much! 😊\nSee you tonight 👨‍👩‍👧‍👦 ❤️"


def _seed(fleet: Fleet, fans: int, username: str = "creator"):
    account = fleet.sandbox.create_account(username)
    base = datetime.now(UTC) - timedelta(hours=2)
    made = []
    for index in range(fans):
        fan = fleet.sandbox.create_fan(account, f"Fan {index:02d}")
        fleet.sandbox.inbound(
            account, fan, f"hello from fan {index}", base + timedelta(minutes=index)
        )
        made.append(fan)
    return account, made


def test_sweep_reads_every_page_of_the_inbox_then_only_what_is_new(fleet: Fleet) -> None:
    account, fans = _seed(fleet, 23)  # more than one inbox page (20)
    fleet.sandbox.tip(account, fans[0], 500, "for you 💝")
    account_id = fleet.register(account)

    first = fleet.sweep(account_id)
    fleet.run_browser_worker()
    sweep = fleet.get(f"/v1/sweeps/{first}")
    assert sweep["status"] == "done", sweep
    assert sweep["conversations_read"] == 23
    assert sweep["messages_found"] == 24
    conversations = fleet.get("/v1/conversations", account_id=account_id, limit=100)
    assert len(conversations["items"]) == 23
    tipped = next(c for c in conversations["items"] if c["fan"]["name"] == "Fan 00")
    assert tipped["fan"]["total_spend_cents"] == 500
    assert tipped["fan"]["handle"] == fans[0].fan_id
    messages = fleet.get(f"/v1/conversations/{tipped['id']}/messages")["items"]
    assert [m["text"] for m in messages] == ["for you 💝", "hello from fan 0"]  # newest first
    assert fleet.redis.llen("rq:queue:ai") == 23, "one draft job per conversation"

    fleet.sandbox.inbound(account, fans[5], "are you there?\nhello?")
    second = fleet.sweep(account_id)
    fleet.run_browser_worker()
    sweep = fleet.get(f"/v1/sweeps/{second}")
    assert sweep["status"] == "done", sweep
    assert sweep["conversations_read"] == 1
    texts = [
        m["text"]
        for m in fleet.get(
            f"/v1/conversations/{_conversation_id(fleet, account_id, 'Fan 05')}/messages"
        )["items"]
    ]
    assert texts == ["are you there?\nhello?", "hello from fan 5"]


def _conversation_id(fleet: Fleet, account_id: int, fan_name: str) -> int:
    items = fleet.get("/v1/conversations", account_id=account_id, limit=100)["items"]
    return next(c["id"] for c in items if c["fan"]["name"] == fan_name)


def test_approved_draft_is_typed_once_intact_and_unflagged(fleet: Fleet) -> None:
    account, _ = _seed(fleet, 2)
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    fleet.run_ai_worker()
    drafts = fleet.get("/v1/drafts", status="pending")["items"]
    assert len(drafts) == 2
    assert {d["provider"] for d in drafts} == {"offline"}

    edited = fleet.post(f"/v1/drafts/{drafts[0]['id']}/approve", {"text": TYPED})
    plain = fleet.post(f"/v1/drafts/{drafts[1]['id']}/approve", {})
    fleet.run_browser_worker()

    for approval in (edited, plain):
        send = fleet.get(f"/v1/sends/{approval['send']['id']}")
        assert send["status"] == "delivered", send
    delivered = fleet.sandbox.delivered(account)
    assert sorted(m.text for m in delivered) == sorted([TYPED, drafts[1]["text"]])
    assert not any(m.flagged for m in delivered), [m.flag_reasons for m in delivered]
    assert fleet.sandbox.refusals(account) == []

    # The worker recorded the delivered message, so the next sweep does not re-ingest it.
    sweep = fleet.sweep(account_id)
    fleet.run_browser_worker()
    assert fleet.get(f"/v1/sweeps/{sweep}")["status"] == "done"
    conversation = edited["send"]["conversation_id"]
    outbound = [
        m
        for m in fleet.get(f"/v1/conversations/{conversation}/messages")["items"]
        if m["direction"] == "outbound"
    ]
    assert [m["text"] for m in outbound] == [TYPED]


@pytest.mark.mechanics
def test_jobs_report_their_results_before_they_let_the_account_go(fleet: Fleet) -> None:
    # Reported after the lease went, a result races the reconciler, which takes back a
    # running job whose worker holds no lease and then refuses the late report.
    account, _ = _seed(fleet, 1)
    account_id = fleet.register(account)
    conversation = _sweep_and_first_conversation(fleet, account_id)
    fleet.post("/v1/sends", {"conversation_id": conversation, "text": "hi again"})
    fleet.run_browser_worker()
    database = Database(fleet.settings.database_url)
    try:
        with database.session() as session:
            reports = session.scalars(
                select(AuditEvent).where(AuditEvent.action.in_(["sweep.done", "send.delivered"]))
            ).all()
    finally:
        database.dispose()
    assert sorted(event.action for event in reports) == ["send.delivered", "sweep.done"]
    assert all(event.detail["lease_held"] is True for event in reports), [
        event.detail for event in reports
    ]


@pytest.mark.mechanics
def test_a_second_worker_cannot_drive_an_account_another_worker_holds(fleet: Fleet) -> None:
    account, fans = _seed(fleet, 1)
    account_id = fleet.register(account)
    conversation = _sweep_and_first_conversation(fleet, account_id)
    lease = AccountLease(
        fleet.redis, fleet.settings.redis_key_prefix, account_id, "someone-else", ttl_s=30
    )
    assert lease.acquire()

    send = fleet.post("/v1/sends", {"conversation_id": conversation, "text": "hi there"})
    fleet.run_browser_worker()

    assert fleet.sandbox.delivered(account) == [], "typed into an account another worker holds"
    row = fleet.get(f"/v1/sends/{send['id']}")
    assert row["status"] != "delivered"
    assert "another worker" in (row["last_error"] or "")

    lease.release()
    again = fleet.post("/v1/sends", {"conversation_id": conversation, "text": "hi again"})
    fleet.run_browser_worker()
    assert fleet.get(f"/v1/sends/{again['id']}")["status"] == "delivered"
    assert [m.text for m in fleet.sandbox.delivered(account)] == ["hi again"]


def _sweep_and_first_conversation(fleet: Fleet, account_id: int) -> int:
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    return int(fleet.get("/v1/conversations", account_id=account_id)["items"][0]["id"])


def _send_burst(fleet: Fleet, username: str, texts: list[str], gap_s: float):
    account, _ = _seed(fleet, 1, username)
    account_id = fleet.register(account)
    fleet.admin.patch(
        f"/v1/accounts/{account_id}", json={"pacing": {"min_send_gap_s": gap_s}}
    ).raise_for_status()
    conversation = _sweep_and_first_conversation(fleet, account_id)
    ids = [
        fleet.post("/v1/sends", {"conversation_id": conversation, "text": text})["id"]
        for text in texts
    ]
    return account, ids


# The sandbox enforces a 3 s gap here (300 human seconds at time scale 0.01): longer than a
# worker takes to open the thread and type one of these short messages, so only the pacer
# keeps the sends apart.
PLATFORM_GAP_S = 300.0
# A platform gap no second send can outwait, however slow the machine: without the pacer,
# the second of two sends is refused whatever the time between them.
UNOUTWAITABLE_GAP_S = 1e9


def test_sends_through_the_pacer_are_never_refused(fleet: Fleet) -> None:
    fleet.sandbox.set_guards(min_send_gap_s=PLATFORM_GAP_S)
    account, ids = _send_burst(fleet, "paced", ["one", "two"], gap_s=PLATFORM_GAP_S * 1.2)

    fleet.run_browser_worker()

    assert fleet.sandbox.refusals(account) == []
    assert [m.text for m in fleet.sandbox.delivered(account)] == ["one", "two"]
    assert all(fleet.get(f"/v1/sends/{i}")["status"] == "delivered" for i in ids)


# The sandbox's own gap check, not the profile's markup: one platform will do.
@pytest.mark.mechanics
def test_the_sandbox_refuses_when_the_pacer_is_bypassed(fleet: Fleet) -> None:
    fleet.sandbox.set_guards(min_send_gap_s=UNOUTWAITABLE_GAP_S)
    account, _ = _send_burst(fleet, "unpaced", ["one", "two"], gap_s=0.0)

    fleet.run_browser_worker()

    assert fleet.sandbox.refusals(account), "the platform's gap check never fired"


def _send_in_unknown_conversation(fleet: Fleet, account_id: int) -> int:
    """A send queued in conversation c404, which the control plane holds (ingested over
    the worker API) and the platform does not."""
    worker = {"Authorization": f"Bearer {fleet.api.worker_key}"}
    fleet.operator.post(
        "/v1/worker/ingest",
        headers=worker,
        json={
            "account_id": account_id,
            "conversations": [
                {
                    "platform_conversation_id": "c404",
                    "platform_fan_id": "f404",
                    "messages": [
                        {
                            "platform_message_id": "m404",
                            "direction": "inbound",
                            "text": "hi",
                            "sent_at": "2026-01-01T00:00:00+00:00",
                        }
                    ],
                }
            ],
        },
    ).raise_for_status()
    conversation = fleet.get("/v1/conversations", account_id=account_id)["items"][0]["id"]
    return int(fleet.post("/v1/sends", {"conversation_id": conversation, "text": "hello"})["id"])


@pytest.mark.mechanics
def test_jobs_of_a_profile_the_worker_lacks_fail_with_the_reason_and_the_fleet_says_so(
    fleet: Fleet, tmp_path: Path
) -> None:
    account = fleet.sandbox.create_account("unprofiled")
    account_id = fleet.register(account)
    send_id = _send_in_unknown_conversation(fleet, account_id)
    sweep_id = fleet.sweep(account_id)
    # This worker's host has every profile but the account's own.
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    for path in fleet.settings.profiles_dir.glob("*.toml"):
        if path.stem != fleet.sandbox.platform().profile:
            (profiles / path.name).write_text(path.read_text())

    fleet.run_browser_worker(extra_env={"FLEET_PROFILES_DIR": str(profiles)})

    send = fleet.get(f"/v1/sends/{send_id}")
    assert (send["status"], send["attempt"], send["failed_attempts"]) == ("queued", 2, 1), send
    assert send["last_error"].startswith("ProfileError: "), send["last_error"]
    sweep = fleet.get(f"/v1/sweeps/{sweep_id}")
    assert (sweep["status"], sweep["attempt"]) == ("failed", 1), sweep
    assert sweep["error"].startswith("ProfileError: "), sweep["error"]
    # Reported while the lease was held: no pass mistakes the live worker for a dead one.
    settings = fleet.settings
    database = Database(settings.database_url)
    with database.session() as session:
        assert reconcile(session, fleet.redis, settings).counts()["sweeps_recovered"] == 0
    database.dispose()
    status = fleet.get("/v1/fleet")
    assert status["healthy"] is False
    assert status["failures_by_class"] == {"ProfileError": 2}
    assert status["failing_accounts"] == {str(account_id): 2}


# The worker's failure capture, the same on every platform: one will do.
@pytest.mark.mechanics
def test_a_failed_job_keeps_a_screenshot_and_trace_and_the_control_plane_says_where(
    fleet: Fleet,
) -> None:
    account, _ = _seed(fleet, 1, "failing")
    account_id = fleet.register(account)
    # A conversation the platform does not have: its thread never renders.
    send_id = _send_in_unknown_conversation(fleet, account_id)

    fleet.run_browser_worker(extra_env={"FLEET_PAGE_TIMEOUT_S": "2"})

    send = fleet.get(f"/v1/sends/{send_id}")
    # The attempt counts, and a retry waits its backoff.
    assert (send["status"], send["attempt"], send["failed_attempts"]) == ("queued", 2, 1), send
    assert "TimeoutError" in send["last_error"]
    screenshot, trace = Path(send["artifacts"]["screenshot"]), Path(send["artifacts"]["trace"])
    assert screenshot.stat().st_size > 0 and screenshot.suffix == ".png"
    with zipfile.ZipFile(trace) as archive:
        recorded = b"".join(archive.read(name) for name in archive.namelist())
    assert b"c404" in recorded
    assert account.password.encode() not in recorded, "the password leaked into the trace"


def test_rejected_credentials_hold_the_accounts_jobs_until_an_operator_fixes_them(
    fleet: Fleet,
) -> None:
    account, _ = _seed(fleet, 1, "relogin")
    account_id = fleet.register(account)
    conversation = _sweep_and_first_conversation(fleet, account_id)
    fleet.admin.patch(
        f"/v1/accounts/{account_id}",
        json={"credentials": {"username": account.login, "password": "wrong-password"}},
    ).raise_for_status()
    fleet.sandbox.expire_sessions(account)  # the platform logs the account out
    send_id = fleet.post("/v1/sends", {"conversation_id": conversation, "text": "still here"})["id"]

    fleet.run_browser_worker()

    assert fleet.get(f"/v1/accounts/{account_id}")["status"] == "needs_login"
    send = fleet.get(f"/v1/sends/{send_id}")
    assert send["status"] == "queued", "a login problem must hold the send, not fail it"
    with zipfile.ZipFile(send["artifacts"]["trace"]) as archive:
        recorded = b"".join(archive.read(name) for name in archive.namelist())
    assert b"wrong-password" not in recorded, "the password leaked into the trace"
    health = fleet.operator.get("/health").json()
    assert {"id": account_id, "name": account.display_name, "status": "needs_login"} in health[
        "held_accounts"
    ]
    sweep_id = fleet.sweep(account_id)
    fleet.run_browser_worker()
    assert fleet.get(f"/v1/sweeps/{sweep_id}")["status"] == "queued", "a held sweep ran"
    assert fleet.sandbox.delivered(account) == []

    fleet.admin.patch(
        f"/v1/accounts/{account_id}",
        json={"credentials": {"username": account.login, "password": account.password}},
    ).raise_for_status()
    assert fleet.get(f"/v1/accounts/{account_id}")["status"] == "active"
    database = Database(fleet.settings.database_url)
    with database.session() as session:
        reconcile(session, fleet.redis, fleet.settings)
    database.dispose()
    fleet.run_browser_worker()

    assert fleet.get(f"/v1/sends/{send_id}")["status"] == "delivered"
    assert fleet.get(f"/v1/sweeps/{sweep_id}")["status"] == "done"
    assert [m.text for m in fleet.sandbox.delivered(account)] == ["still here"]


def test_stored_session_lets_a_fresh_browser_skip_the_login(fleet: Fleet) -> None:
    account, [fan] = _seed(fleet, 1, "session")
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    assert fleet.admin.get(f"/v1/accounts/{account_id}").json()["has_session"] is True

    # A new worker (new Chromium) starts from the stored session; had it logged in again,
    # the sandbox would have ended the first session and the old cookie would be dead.
    fleet.sandbox.inbound(account, fan, "still there?")
    second = fleet.sweep(account_id)
    fleet.run_browser_worker()
    assert fleet.get(f"/v1/sweeps/{second}")["status"] == "done"
    assert fleet.sandbox.login_count(account) == 1


def test_a_throttled_send_backs_off_then_goes_out_later_without_failing(fleet: Fleet) -> None:
    # 20 s at this time scale: however loaded the machine, the burst's second send comes
    # sooner than that and is refused.
    fleet.sandbox.set_guards(min_send_gap_s=2000.0)
    account, ids = _send_burst(fleet, "throttled", ["one", "two"], gap_s=0.0)

    fleet.run_browser_worker()

    assert [m.text for m in fleet.sandbox.delivered(account)] == ["one"]
    [refusal] = fleet.sandbox.refusals(account)
    second = fleet.get(f"/v1/sends/{ids[1]}")
    assert (second["status"], second["attempt"]) == ("queued", 2), second
    account_id = second["account_id"]
    signals = fleet.redis.zcard(f"{fleet.settings.redis_key_prefix}throttle:account:{account_id}")
    assert signals == 1, "the throttle signal was not recorded for the account's pacer"

    # The platform relents at once; the worker must still wait out its own backoff.
    fleet.sandbox.set_guards(min_send_gap_s=0.0)
    database = Database(fleet.settings.database_url)
    with database.session() as session:
        [throttled] = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "send.throttled", AuditEvent.subject_id == ids[1]
            )
        )
        backoff_s = float(throttled.detail["backoff_s"])
    assert backoff_s > 0
    for _ in range(20):
        with database.session() as session:
            reconcile(session, fleet.redis, fleet.settings)
        fleet.run_browser_worker()
        if fleet.get(f"/v1/sends/{ids[1]}")["status"] == "delivered":
            break
    database.dispose()
    delivered = fleet.sandbox.delivered(account)
    assert [m.text for m in delivered] == ["one", "two"]
    assert len(fleet.sandbox.refusals(account)) == 1
    waited = datetime.fromisoformat(delivered[1].sent_at) - datetime.fromisoformat(
        refusal.created_at
    )
    assert waited >= timedelta(seconds=backoff_s), "the send went out during the backoff"


def test_a_ppv_send_sets_its_price_on_the_platform(fleet: Fleet) -> None:
    account, _ = _seed(fleet, 1, "ppv")
    account_id = fleet.register(account)
    conversation = _sweep_and_first_conversation(fleet, account_id)
    send = fleet.post(
        "/v1/sends",
        {"conversation_id": conversation, "text": "A little something 😏", "ppv_price_cents": 1250},
    )
    fleet.run_browser_worker()
    assert fleet.get(f"/v1/sends/{send['id']}")["status"] == "delivered"
    [delivered] = fleet.sandbox.delivered(account)
    assert (delivered.text, delivered.ppv_price_cents, delivered.ppv_paid) == (
        "A little something 😏",
        1250,
        False,
    )


def test_a_ppv_with_media_attaches_the_vault_items_in_order(fleet: Fleet) -> None:
    account, _ = _seed(fleet, 1, "vault")
    first = fleet.sandbox.add_media(account, "Beach set")
    fleet.sandbox.add_media(account, "Not this one")
    second = fleet.sandbox.add_media(account, "Behind the scenes")
    account_id = fleet.register(account)
    conversation = _sweep_and_first_conversation(fleet, account_id)
    send = fleet.post(
        "/v1/sends",
        {
            "conversation_id": conversation,
            "text": "Two sets, just for you",
            "ppv_price_cents": 2500,
            "media": [second, first],
        },
    )
    assert send["media"] == [second, first]
    fleet.run_browser_worker()
    assert fleet.get(f"/v1/sends/{send['id']}")["status"] == "delivered"
    [delivered] = fleet.sandbox.delivered(account)
    assert (delivered.media, delivered.ppv_price_cents) == ([second, first], 2500)


def test_a_ppv_bought_after_its_sweep_is_recorded_by_the_next_one(fleet: Fleet) -> None:
    # A purchase changes the old message, not the inbox: without reading the thread again
    # the fan's spend would stay at nothing. Two offers go out; the fan of the first buys.
    account, _ = _seed(fleet, 2, "buyer")
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    conversation, other = (
        c["id"] for c in fleet.get("/v1/conversations", account_id=account_id)["items"]
    )
    for offered in (conversation, other):
        body = {"conversation_id": offered, "text": "just for you", "ppv_price_cents": 1250}
        fleet.post("/v1/sends", body)
        fleet.run_browser_worker()
    offer = next(
        m
        for m in fleet.sandbox.delivered(account)
        if m.conversation_id
        == fleet.get(f"/v1/conversations/{conversation}")["platform_conversation_id"]
    )
    fleet.sandbox.purchase(offer.message_id)

    sweep_id = fleet.sweep(account_id)
    fleet.run_browser_worker()

    # Read from the purchases page, only the bought thread is opened again; rechecking,
    # every thread holding an unpaid offer is.
    source = fleet.sandbox.profile.revenue.source
    read = fleet.get(f"/v1/sweeps/{sweep_id}")["conversations_read"]
    assert read == (1 if source == "purchases" else 2), source
    messages = fleet.get(f"/v1/conversations/{conversation}/messages")["items"]
    [stored] = [m for m in messages if m["platform_message_id"] == offer.message_id]
    assert (stored["ppv_price_cents"], stored["ppv_paid"]) == (1250, True)
    fan = fleet.get(f"/v1/conversations/{conversation}")["fan"]
    assert fan["total_spend_cents"] == 1250


def test_a_throttled_sweep_backs_off_instead_of_failing(fleet: Fleet, tmp_path: Path) -> None:
    # A platform counting a real minute (time scale 1) and allowing two requests in it:
    # the inbox page and its list call pass, the first thread is refused, however fast or
    # slow the machine.
    config = SandboxConfig(
        db_path=tmp_path / "strict.db", time_scale=1.0, control_enabled=True, actions_per_minute=2
    )
    with on_own_sandbox(fleet, config) as strict:
        account, _ = _seed(strict, 2, "strict")
        account_id = strict.register(account)
        sweep_id = strict.sweep(account_id)
        strict.run_browser_worker()

    sweep = fleet.get(f"/v1/sweeps/{sweep_id}")
    assert (sweep["status"], sweep["attempt"]) == ("queued", 2), sweep
    assert sweep["next_attempt_at"] is not None
    signals = fleet.redis.zcard(f"{fleet.settings.redis_key_prefix}throttle:account:{account_id}")
    assert signals == 1, "the throttle was not recorded for the account's pacer"
