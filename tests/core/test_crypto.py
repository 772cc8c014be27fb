"""Sealing credentials: the first key seals, every key opens, a reseal moves a value to
the first key, and what no key opens is said without the value."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from core.crypto import Keyring, Unreadable, keyring
from core.settings import Settings

OLD, NEW = Fernet.generate_key(), Fernet.generate_key()


def test_a_sealed_value_opens_and_holds_no_plaintext() -> None:
    ring = Keyring([NEW])
    token = ring.seal("hunter2 😍")
    assert "hunter2" not in token
    assert ring.open(token) == "hunter2 😍"


def test_every_key_opens_and_a_reseal_moves_to_the_first() -> None:
    old_token = Keyring([OLD]).seal("pw")
    both = Keyring([NEW, OLD])
    assert both.open(old_token) == "pw"
    resealed = both.reseal(old_token)
    assert Keyring([NEW]).open(resealed) == "pw"
    with pytest.raises(Unreadable):
        Keyring([OLD]).open(resealed)


def test_what_no_key_opens_is_unreadable_and_not_shown() -> None:
    with pytest.raises(Unreadable) as raised:
        Keyring([NEW]).open("plain-password")
    assert "plain-password" not in str(raised.value)


def test_without_a_key_one_is_made_once_for_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, var_dir=tmp_path)
    token = keyring(settings).seal("pw")
    path = tmp_path / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keyring(Settings(_env_file=None, var_dir=tmp_path)).open(token) == "pw"
    assert len(path.read_text().split()) == 1


def test_keys_come_from_the_setting_first_then_the_file(tmp_path: Path) -> None:
    file = tmp_path / "keys"
    file.write_text(f"{OLD.decode()}\n")
    from_file = Settings(_env_file=None, secret_key_file=file)
    token = keyring(from_file).seal("pw")
    rotated = Settings(_env_file=None, secret_key=SecretStr(f"{NEW.decode()},{OLD.decode()}"))
    assert keyring(rotated).open(token) == "pw"


def test_a_key_that_is_not_a_fernet_key_is_refused_without_showing_it() -> None:
    with pytest.raises(ValueError, match="not a Fernet key") as raised:
        keyring(Settings(_env_file=None, secret_key=SecretStr("not-a-key-at-all")))
    assert "not-a-key-at-all" not in str(raised.value)
