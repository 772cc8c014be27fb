"""Migrations: a database of the previous release upgrades with every row intact, one made
before migrations is adopted (or refused, when older), the migrations make exactly what
the models say, and nothing starts on a database that is behind."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy.engine import make_url

from api.app import create_app
from core.crypto import Keyring
from core.db import Base, Database
from core.enums import DraftStatus
from core.models import FAN_SEARCH_INDEXES, Fan
from core.review import list_drafts
from core.schema import BASELINE, SchemaBehind, current, head, upgrade
from core.settings import Settings
from tests.fixtures.control_plane import _pg_admin_url
from tests.helpers.cli import fleet

SENT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RING = Keyring([Fernet.generate_key()])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with nothing in it: a SQLite file, or a PostgreSQL database of its own."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
        yield database
        database.dispose()
        return
    admin = _pg_admin_url()
    name = f"fleet_schema_{secrets.token_hex(4)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    database = Database(make_url(admin).set(database=name).render_as_string(hide_password=False))
    yield database
    database.dispose()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _table(name: str, values: dict[str, Any]) -> sa.TableClause:
    """The table as plain SQL sees it, typed for JSON and times: no model of this release."""

    def kind(value: Any) -> Any:
        if isinstance(value, dict | list):
            return sa.JSON()
        return sa.DateTime(timezone=True) if isinstance(value, datetime) else None

    return sa.table(name, *(sa.column(key, kind(value)) for key, value in values.items()))


def _fill_previous_release(database: Database) -> None:
    """Rows as the previous release wrote them: an account with its own response target,
    a top-spending fan, a pending reply, a pending follow-up and a decided draft."""
    rows: list[tuple[str, dict[str, Any]]] = [
        (
            "accounts",
            {
                "id": 1,
                "name": "Mia",
                "profile": "sandbox",
                "username": "mia",
                "password": "pw-PLAIN",
                "session_state": {"cookies": [{"name": "sid", "value": "COOKIE-PLAIN"}]},
                "status": "active",
                "persona": {},
                "auto_send": False,
                "pacing": {},
                "policy": {"response_target_s": 600},
                "created_at": SENT,
            },
        ),
        (
            "fans",
            {
                "id": 1,
                "account_id": 1,
                "platform_fan_id": "f1",
                "name": "Sam",
                "total_spend_cents": 60_000,
                "tags": ["vip"],
                "notes": "likes cats",
            },
        ),
        (
            "conversations",
            {
                "id": 1,
                "account_id": 1,
                "fan_id": 1,
                "platform_conversation_id": "c1",
                "last_message_at": SENT,
            },
        ),
    ]
    for index in (1, 2, 3):
        rows.append(
            (
                "messages",
                {
                    "id": index,
                    "conversation_id": 1,
                    "platform_message_id": f"m{index}",
                    "direction": "inbound",
                    "text": f"hello {index} 😍\nline two",
                    "sent_at": SENT + timedelta(minutes=index),
                    "tip_cents": 0,
                    "created_at": SENT,
                },
            )
        )
    for draft_id, message_id, kind, status in (
        (1, 1, "reply", "pending"),
        (2, 2, "follow_up", "pending"),
        (3, 3, "reply", "approved"),
    ):
        rows.append(
            (
                "drafts",
                {
                    "id": draft_id,
                    "conversation_id": 1,
                    "message_id": message_id,
                    "kind": kind,
                    "text": f"draft {draft_id}",
                    "provider": "offline",
                    "prompt_tokens": 0,
                    "completion_tokens": 0,
                    "status": status,
                    "created_at": SENT + timedelta(hours=draft_id),
                    "blocked": False,
                    "redrafts": 0,
                    "filter_hits": [],
                    "guard_signals": [],
                    "variants": [],
                },
            )
        )
    # Rows that point at drafts and accounts, which migrations rebuild on SQLite.
    rows.append(
        (
            "draft_feedback",
            {
                "id": 1,
                "draft_id": 3,
                "variant": 0,
                "original_text": "draft 3",
                "final_text": "draft 3!",
                "edit_distance": 1,
                "actor": "op",
                "created_at": SENT,
            },
        )
    )
    rows.append(
        (
            "sends",
            {
                "id": 1,
                "account_id": 1,
                "conversation_id": 1,
                "draft_id": 3,
                "text": "draft 3!",
                "media": [],
                "status": "delivered",
                "priority": "reply",
                "attempt": 1,
                "max_attempts": 3,
                "artifacts": {},
                "created_by": "op",
                "created_at": SENT,
                "updated_at": SENT,
            },
        )
    )
    # Sends whose `max_attempts` grew: one recovered from a dead worker, then retried once
    # (attempt 3 of a budget of 3 grown to 4); one failed after three retryable failures.
    for send_id, status, attempt, max_attempts, actions in (
        (2, "queued", 3, 4, ["send.recovered", "send.retry"]),
        (3, "failed", 3, 3, ["send.retry", "send.retry", "send.failed"]),
    ):
        rows.append(
            (
                "sends",
                {
                    "id": send_id,
                    "account_id": 1,
                    "conversation_id": 1,
                    "text": "direct",
                    "media": [],
                    "status": status,
                    "priority": "reply",
                    "attempt": attempt,
                    "max_attempts": max_attempts,
                    "artifacts": {},
                    "created_by": "op",
                    "created_at": SENT,
                    "updated_at": SENT,
                },
            )
        )
        rows += [
            (
                "audit_events",
                {
                    "at": SENT,
                    "actor": "w1",
                    "action": action,
                    "subject_type": "send",
                    "subject_id": send_id,
                    "detail": {},
                },
            )
            for action in actions
        ]
    with database.engine.begin() as connection:
        for table, values in rows:
            connection.execute(sa.insert(_table(table, values)).values(values))


def _counts(database: Database) -> dict[str, int]:
    """The rows of each table the database has."""
    with database.engine.connect() as connection:
        present = set(sa.inspect(connection).get_table_names())
        return {
            table.name: connection.execute(
                sa.select(sa.func.count()).select_from(table)
            ).scalar_one()
            for table in Base.metadata.sorted_tables
            if table.name in present
        }


def test_the_previous_release_upgrades_with_every_row_intact(empty: Database) -> None:
    upgrade(empty, BASELINE)
    _fill_previous_release(empty)
    before = _counts(empty)
    upgrade(empty, ring=RING)
    assert current(empty) == head()
    # Every row is still there; the tables added since start empty.
    after = _counts(empty)
    assert {table: after[table] for table in before} == before
    assert all(after[table] == 0 for table in after.keys() - before.keys())
    with empty.session() as session:
        messages = session.execute(sa.text("SELECT text FROM messages ORDER BY id")).scalars()
        assert list(messages)[0] == "hello 1 😍\nline two"
        page = list_drafts(
            session, Settings(_env_file=None), status=DraftStatus.pending, account_id=1, limit=10
        )
        reply, nudge = sorted((queued.draft for queued in page.items), key=lambda d: d.id)
    # The keys `core.priority` would have stamped: a top fan (40 + 6 points) and the kind.
    assert (reply.account_id, reply.fan_tier, reply.queue_rank) == (1, "top", -5600)
    assert reply.wait_since_ms == round((SENT + timedelta(minutes=1)).timestamp() * 1000)
    assert reply.target_ms == 600_000
    # A nudge waits from its own creation.
    assert nudge.wait_since_ms == round((SENT + timedelta(hours=2)).timestamp() * 1000)
    # Each send's budget is the one it was given, and its failures are counted.
    with empty.engine.connect() as connection:
        attempts = connection.execute(
            sa.text("SELECT id, attempt, max_attempts, failed_attempts FROM sends ORDER BY id")
        ).all()
    assert [tuple(row) for row in attempts] == [(1, 1, 3, 0), (2, 3, 3, 1), (3, 3, 3, 3)]
    # The fan last wrote with their newest message; tags and notes are as they were.
    with empty.session() as session:
        fan = session.get(Fan, 1)
        assert fan is not None
        assert fan.last_active_at == SENT + timedelta(minutes=3)
        assert (fan.tags, fan.notes, fan.custom_fields, fan.handle) == (
            ["vip"],
            "likes cats",
            {},
            None,
        )
    # Credentials are sealed: the raw rows hold no password and no cookie.
    with empty.engine.connect() as connection:
        password, session = connection.execute(
            sa.text("SELECT password, session_sealed FROM accounts")
        ).one()
    assert "pw-PLAIN" not in password and "COOKIE-PLAIN" not in session
    assert RING.open(password) == "pw-PLAIN"
    assert json.loads(RING.open(session))["cookies"][0]["value"] == "COOKIE-PLAIN"


def test_credentials_in_plain_text_are_not_upgraded_without_the_key(empty: Database) -> None:
    upgrade(empty, BASELINE)
    _fill_previous_release(empty)
    with pytest.raises(RuntimeError, match="needs the secret key"):
        upgrade(empty)
    assert current(empty) == BASELINE


def test_a_database_made_before_migrations_is_adopted(empty: Database) -> None:
    upgrade(empty, BASELINE)
    _fill_previous_release(empty)
    with empty.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))
    assert current(empty) is None
    upgrade(empty, ring=RING)
    assert current(empty) == head()
    assert _counts(empty)["drafts"] == 3


def test_a_database_older_than_the_first_revision_is_refused_by_name(empty: Database) -> None:
    upgrade(empty, BASELINE)
    with empty.engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE alembic_version"))
        connection.execute(sa.text("ALTER TABLE sends DROP COLUMN media"))
    with pytest.raises(SchemaBehind, match=r"lacks sends\.media"):
        upgrade(empty)


def _declared(_object: Any, name: str | None, kind: str, reflected: bool, _to: Any) -> bool:
    """Whether the models declare the object: all but PostgreSQL's search indexes."""
    return not (kind == "index" and reflected and name in FAN_SEARCH_INDEXES)


def test_the_migrations_make_what_the_models_say(empty: Database) -> None:
    upgrade(empty)
    with empty.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": False, "include_object": _declared}
        )
        assert compare_metadata(context, Base.metadata) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_api_will_not_start_on_a_database_behind(empty: Database, settings: Settings) -> None:
    upgrade(empty, BASELINE)
    app = create_app(settings.model_copy(update={"database_url": str(empty.engine.url)}))
    with pytest.raises(SchemaBehind, match="run `fleet db upgrade`"), TestClient(app):
        pass


def test_the_cli_says_what_to_run_then_runs_it(tmp_path: Path) -> None:
    env = {"FLEET_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "FLEET_LOG_LEVEL": "ERROR"}
    refused = fleet("keys", "create", "--role", "admin", env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        f"error: the database is not migrated; this release needs revision {head()}: "
        "run `fleet db upgrade`"
    ]
    assert fleet("db", "current", env=env).returncode == 1
    upgraded = fleet("db", "upgrade", env=env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"database at revision {head()}"
    assert fleet("db", "current", env=env).returncode == 0
    assert fleet("keys", "create", "--role", "admin", env=env).returncode == 0
