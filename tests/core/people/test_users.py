"""Console users: argon2-hashed passwords, people's roles only, names unique."""

from __future__ import annotations

import pytest

from core.db import Database
from core.enums import Role
from core.errors import Conflict, InvalidState
from core.models import User
from core.people import authenticate, create_user
from tests.helpers.console import PASSWORD, make_user
from tests.helpers.rows import audit_details


def test_only_an_argon2_hash_of_the_password_is_stored(db: Database) -> None:
    make_user(db)
    with db.session() as session:
        stored = session.query(User).one().password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_the_right_password_signs_the_user_in_and_a_wrong_one_does_not(db: Database) -> None:
    make_user(db)
    with db.session() as session:
        user = authenticate(session, "mia", PASSWORD)
        assert user is not None and user.role == Role.operator
        assert authenticate(session, "mia", PASSWORD + "!") is None
        assert authenticate(session, "nobody", PASSWORD) is None


def test_a_disabled_user_is_not_signed_in(db: Database) -> None:
    make_user(db)
    with db.session() as session:
        session.query(User).one().disabled_at = session.query(User).one().created_at
        session.commit()
        assert authenticate(session, "mia", PASSWORD) is None


@pytest.mark.parametrize(
    ("name", "role", "password", "error"),
    [
        ("w", Role.worker, PASSWORD, "a person is an admin or an operator, not a worker"),
        ("  ", Role.operator, PASSWORD, "a user's name is 1 to 200 characters"),
        ("short", Role.operator, "eleven char", "a password is 12 to 1000 characters"),
    ],
)
def test_a_user_that_cannot_be_is_refused_by_what_is_wrong(
    db: Database, name: str, role: Role, password: str, error: str
) -> None:
    with db.session() as session, pytest.raises(InvalidState, match=error):
        create_user(session, name, role, password, actor="test")


def test_a_name_is_taken_once_and_the_creation_is_audited_without_the_password(
    db: Database,
) -> None:
    make_user(db)
    with db.session() as session, pytest.raises(Conflict, match="a user named 'mia' exists"):
        create_user(session, "mia", Role.admin, PASSWORD, actor="test")
    (created,) = audit_details(db, "user.created")
    assert (created["name"], created["role"]) == ("mia", "operator")
    assert PASSWORD not in str(created)
