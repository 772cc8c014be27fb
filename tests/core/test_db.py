"""Typed JSON columns: rows hand back models, a dict set on a row is validated at once, and a
stored value that no longer validates never breaks a read. Rows inserted in one statement
(`insert_rows`) read back as the ORM's do."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from loguru import logger
from pydantic import ValidationError
from sqlalchemy import func, select, text

from core.db import Database, insert_rows
from core.drafting.persona import Persona
from core.enums import AccountStatus
from core.guardrails.content_filter import FilterHit
from core.guardrails.policy import ApprovalPolicy
from core.models import Account, Draft
from core.platform.profiles import PacingOverrides
from tests.helpers.seeding import Line, seed, seed_draft


@pytest.fixture
def warnings() -> Iterator[list[str]]:
    """Every warning logged during the test: its message and its fields."""
    lines: list[str] = []
    sink = logger.add(
        lambda message: lines.append(f"{message.record['message']} {message.record['extra']}"),
        level="WARNING",
    )
    yield lines
    logger.remove(sink)


def _account(db: Database, account_id: int) -> Account:
    with db.session() as session:
        return session.get_one(Account, account_id)


def test_a_dict_set_on_a_row_reads_back_as_its_model(db: Database) -> None:
    seeded = seed(db, [Line("inbound", "hi")], policy={"nudges": True, "disclosure": "AI-drafted"})
    policy = _account(db, seeded.account_id).policy
    assert isinstance(policy, ApprovalPolicy)
    assert (policy.nudges, policy.disclosure, policy.confidence_threshold) == (
        True,
        "AI-drafted",
        80,
    )


def test_lists_of_models_read_back_typed(db: Database) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    draft_id = seed_draft(db, seeded, "call me 555-123-4567")
    hit = FilterHit(rule="phone_number", category="contact", start=8, end=20)
    with db.session() as session:
        session.get_one(Draft, draft_id).filter_hits = [hit.model_dump()]
        session.commit()
    with db.session() as session:
        draft = session.get_one(Draft, draft_id)
        assert draft.filter_hits == [hit]
        assert draft.block_reasons == ["filter:phone_number"]


def test_an_invalid_value_set_on_a_row_is_refused(db: Database) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    with db.session() as session:
        account = session.get_one(Account, seeded.account_id)
        with pytest.raises(ValidationError, match="confidence_threshold"):
            account.policy = {"confidence_threshold": 400}  # type: ignore[assignment]


def test_a_stored_value_that_no_longer_validates_reads_as_the_default(
    db: Database, warnings: list[str]
) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    with db.session() as session:
        # Written behind the ORM's back, as an older release or a hand edit might.
        session.execute(
            text("UPDATE accounts SET policy = :raw WHERE id = :id"),
            {"raw": '{"confidence_threshold": "secret-ish", "retired_field": 1}', "id": 1},
        )
        session.commit()
    assert _account(db, seeded.account_id).policy == ApprovalPolicy()
    [warning] = warnings
    assert "confidence_threshold" in warning and "retired_field" in warning
    assert "secret-ish" not in warning


def test_null_reads_as_the_default(db: Database) -> None:
    # Rows stored before a column existed hold NULL.
    seeded = seed(db, [Line("inbound", "hi")])
    draft_id = seed_draft(db, seeded, "hello")
    with db.session() as session:
        session.execute(text("UPDATE accounts SET policy = NULL"))
        session.execute(text("UPDATE drafts SET variants = NULL, guard_signals = NULL"))
        session.commit()
    assert _account(db, seeded.account_id).policy == ApprovalPolicy()
    with db.session() as session:
        draft = session.get_one(Draft, draft_id)
        assert (draft.variants, draft.guard_signals) == ([], [])


def test_a_broken_stored_setting_never_breaks_the_api(
    db: Database, client: TestClient, admin: dict[str, str]
) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    with db.session() as session:
        session.execute(text("UPDATE accounts SET persona = '{\"tone\": 42}', pacing = '[]'"))
        session.commit()
    response = client.get(f"/v1/accounts/{seeded.account_id}", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["persona"]["tone"] == "warm"
    assert response.json()["pacing"] == PacingOverrides().model_dump()


def test_a_failed_statement_never_carries_its_parameters(db: Database) -> None:
    # On PostgreSQL a NUL byte fails the statement; on SQLite a missing table does. Either
    # way the error (and any log of it) must not hold the values bound to it.
    marker = "LEAKPW-7731"
    with db.session() as session, pytest.raises(Exception) as caught:
        session.execute(text("INSERT INTO no_such_table (x) VALUES (:x)"), {"x": marker + "\x00"})
    assert marker not in str(caught.value)


def test_inserted_rows_get_their_ids_in_the_order_given(db: Database) -> None:
    names = [f"account-{n}" for n in (5, 1, 4, 2, 3)]
    with db.session() as session:
        session.add(Account(name="before", username="u", password="pw"))
        session.flush()
        rows = [{"name": name, "username": "u", "password": "pw"} for name in names]
        ids = insert_rows(session, Account.__table__, rows)
        session.commit()
    with db.session() as session:
        assert [session.get_one(Account, i).name for i in ids] == names


def test_inserted_rows_read_back_as_rows_the_orm_added(db: Database) -> None:
    # A zone other than UTC, an enum, typed JSON, and the columns' Python defaults.
    at = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Paris"))
    columns = {
        "name": "n",
        "username": "u",
        "password": "pw",
        "status": AccountStatus.paused,
        "persona": {"name": "Mia", "tone": "playful"},
        "last_sweep_at": at,
    }
    with db.session() as session:
        session.add(Account(**columns))
        session.flush()
        (inserted,) = insert_rows(session, Account.__table__, [columns])
        session.commit()
    with db.session() as session:
        added, made = session.scalars(select(Account).order_by(Account.id)).all()
        assert made.id == inserted
        assert (made.status, made.persona, made.last_sweep_at) == (
            AccountStatus.paused,
            Persona(name="Mia", tone="playful"),
            at,
        )
        assert (made.profile, made.auto_send, made.pacing, made.policy) == (
            added.profile,
            added.auto_send,
            added.pacing,
            added.policy,
        )
        assert made.created_at is not None


def test_inserted_rows_keep_what_differs_between_them_and_what_they_share(
    db: Database,
) -> None:
    # An enum, typed JSON and a time that differ from row to row, and columns every row
    # holds alike (which PostgreSQL is handed once): each row reads back as given.
    at = datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Paris"))
    statuses = [AccountStatus.paused, AccountStatus.active, AccountStatus.paused]
    rows = [
        {
            "name": f"n{n}",
            "username": "u",
            "password": "pw",
            "status": status,
            "persona": {"name": "Mia", "tone": "playful" if n else "warm"},
            "last_sweep_at": at + timedelta(days=n),
        }
        for n, status in enumerate(statuses)
    ]
    with db.session() as session:
        ids = insert_rows(session, Account.__table__, rows)
        session.commit()
    with db.session() as session:
        made = [session.get_one(Account, i) for i in ids]
        assert [(a.name, a.username, a.status) for a in made] == [
            (f"n{n}", "u", status) for n, status in enumerate(statuses)
        ]
        assert [a.persona.tone for a in made] == ["warm", "playful", "playful"]
        assert [a.last_sweep_at for a in made] == [at + timedelta(days=n) for n in range(3)]
        assert all(a.created_at is not None for a in made)


def test_inserting_no_rows_inserts_nothing(db: Database) -> None:
    with db.session() as session:
        assert insert_rows(session, Account.__table__, []) == []
        assert session.scalar(select(func.count()).select_from(Account)) == 0
