"""Signing in: a session for the right pair, failures counted per name and per address,
refused past the limit before any password is checked."""

from __future__ import annotations

import pytest
from redis import Redis

from core.db import Database
from core.people import SignInRefused, TooManySignIns, sign_in
from core.settings import Settings
from tests.helpers.console import PASSWORD, make_user
from tests.helpers.rows import audit_details


def _fail(db: Database, redis: Redis, settings: Settings, name: str, address: str) -> None:
    with db.session() as session, pytest.raises(SignInRefused):
        sign_in(session, redis, settings, name, "not the password", address)


def test_the_right_pair_opens_a_session(db: Database, redis: Redis, settings: Settings) -> None:
    make_user(db)
    with db.session() as session:
        assert sign_in(session, redis, settings, "mia", PASSWORD, "10.0.0.1").token


def test_a_name_guessed_at_too_often_is_refused_even_with_its_password(
    db: Database, redis: Redis, settings: Settings
) -> None:
    make_user(db)
    for n in range(settings.sign_in_failures):
        _fail(db, redis, settings, "mia", f"10.0.0.{n}")
    with db.session() as session, pytest.raises(TooManySignIns):
        sign_in(session, redis, settings, "mia", PASSWORD, "10.0.0.99")


def test_an_address_guessing_at_many_names_is_refused(
    db: Database, redis: Redis, settings: Settings
) -> None:
    make_user(db)
    for n in range(settings.sign_in_failures):
        _fail(db, redis, settings, f"guess-{n}", "10.0.0.7")
    with db.session() as session, pytest.raises(TooManySignIns):
        sign_in(session, redis, settings, "mia", PASSWORD, "10.0.0.7")
    with db.session() as session:
        assert sign_in(session, redis, settings, "mia", PASSWORD, "10.0.0.8").token


def test_a_failure_is_audited_without_the_name_tried(
    db: Database, redis: Redis, settings: Settings
) -> None:
    _fail(db, redis, settings, "my-password-typed-as-a-name", "10.0.0.1")
    (failed,) = audit_details(db, "user.sign_in_failed")
    assert "my-password-typed-as-a-name" not in str(failed)
    assert failed["address"] == "10.0.0.1"
