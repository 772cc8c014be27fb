"""`fleet secrets rotate` as ops run it: everything is sealed again under the new key, and
a key that opens nothing changes nothing and says which accounts."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from core.crm.accounts import create_account, store_session_state
from core.crypto import Keyring, Unreadable
from core.db import Database
from core.models import Account
from core.schema import upgrade
from tests.helpers.cli import fleet

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))


def test_rotate_reseals_under_the_first_key_or_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    database = Database(url)
    upgrade(database)
    with database.session() as session:
        account = create_account(
            session, Keyring([OLD.encode()]), actor="t", name="A", username="a", password="pw"
        )
        store_session_state(
            session, Keyring([OLD.encode()]), account.id, {"cookies": []}, actor="t"
        )
    env = {"FLEET_DATABASE_URL": url, "FLEET_LOG_LEVEL": "ERROR"}

    refused = fleet("secrets", "rotate", env={**env, "FLEET_SECRET_KEY": OTHER})
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: no key opens the credentials of account(s) 1: add the key they were sealed "
        "with, or set them again with PATCH"
    ]
    rotated = fleet("secrets", "rotate", env={**env, "FLEET_SECRET_KEY": f"{NEW},{OLD}"})
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.strip() == "1 account(s) sealed under the first key"
    with database.session() as session:
        stored = session.get_one(Account, account.id)
        assert Keyring([NEW.encode()]).open(stored.password) == "pw"
        assert stored.session_sealed is not None
        assert Keyring([NEW.encode()]).open(stored.session_sealed) == '{"cookies": []}'
        with pytest.raises(Unreadable):
            Keyring([OLD.encode()]).open(stored.password)
    database.dispose()
