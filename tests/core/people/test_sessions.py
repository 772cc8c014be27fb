"""Console sessions: a cookie token stored as its hash, ending at expiry or sign-out."""

from __future__ import annotations

from datetime import timedelta

from core.db import Database
from core.enums import Role
from core.models import ConsoleSession, User
from core.people import end_session, open_session, signed_in
from core.settings import Settings
from tests.helpers.console import make_user
from tests.helpers.rows import audit_actions


def _opened(db: Database, settings: Settings) -> str:
    make_user(db, role=Role.admin)
    with db.session() as session:
        return open_session(session, settings, session.query(User).one()).token


def test_a_session_names_its_user_and_role_and_only_its_hash_is_stored(
    db: Database, settings: Settings
) -> None:
    token = _opened(db, settings)
    with db.session() as session:
        person = signed_in(session, token)
        assert person is not None
        assert (person.principal.name, person.principal.role) == ("mia", Role.admin)
        assert token not in session.query(ConsoleSession).one().token_hash
        assert signed_in(session, token[:-1] + "x") is None
        assert signed_in(session, None) is None


def test_a_session_ends_at_its_expiry(db: Database, settings: Settings) -> None:
    token = _opened(db, settings)
    with db.session() as session:
        expires = session.query(ConsoleSession).one().expires_at
        assert signed_in(session, token, now=expires - timedelta(seconds=1)) is not None
        assert signed_in(session, token, now=expires) is None


def test_signing_out_ends_the_session_for_good_and_is_audited(
    db: Database, settings: Settings
) -> None:
    token = _opened(db, settings)
    with db.session() as session:
        end_session(session, token)
        end_session(session, token)
        assert signed_in(session, token) is None
        user_id = session.query(User).one().id
    assert audit_actions(db, "user", user_id) == [
        ("user.created", "test"),
        ("user.signed_in", "mia"),
        ("user.signed_out", "mia"),
    ]


def test_a_disabled_users_sessions_end(db: Database, settings: Settings) -> None:
    token = _opened(db, settings)
    with db.session() as session:
        user = session.query(User).one()
        user.disabled_at = user.created_at
        session.commit()
        assert signed_in(session, token) is None
