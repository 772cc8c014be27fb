"""Browser profiles load and validate, and a bad one fails with file, field and reason."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.platform.profiles import ProfileError, load_profile
from tests.helpers.stores import REPO

SANDBOX = REPO / "browser_profiles" / "sandbox.toml"


def test_bundled_sandbox_profile_loads() -> None:
    profile = load_profile(SANDBOX)
    assert profile.name == "sandbox"
    assert profile.url("thread", "http://h:1/", conversation_id="c9") == "http://h:1/chat/c9"
    assert profile.typing.newline_key == "Shift+Enter"


def test_missing_field_names_file_and_field(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(SANDBOX.read_text().replace('composer = "#composer"\n', ""))
    with pytest.raises(ProfileError) as caught:
        load_profile(broken)
    message = str(caught.value)
    assert str(broken) in message
    assert "thread.composer: Field required" in message


def test_wrong_type_says_what_was_expected(tmp_path: Path) -> None:
    broken = tmp_path / "typo.toml"
    broken.write_text(
        SANDBOX.read_text().replace("sends_per_hour = 120", 'sends_per_hour = "lots"')
    )
    with pytest.raises(
        ProfileError, match=r"pacing\.sends_per_hour: Input should be a valid integer"
    ):
        load_profile(broken)


def test_unknown_field_is_an_error_not_ignored(tmp_path: Path) -> None:
    broken = tmp_path / "extra.toml"
    broken.write_text(SANDBOX.read_text().replace("[urls]", '[urls]\nlogn = "/x"'))
    with pytest.raises(ProfileError, match=r"urls\.logn: Extra inputs are not permitted"):
        load_profile(broken)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="profile file not found"):
        load_profile(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = ")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(bad)


def test_a_profile_reads_times_in_utc_unless_it_names_its_zone(tmp_path: Path) -> None:
    assert load_profile(SANDBOX).zone == ZoneInfo("UTC")
    berlin = tmp_path / "berlin.toml"
    berlin.write_text(SANDBOX.read_text().replace("[urls]", 'timezone = "Europe/Berlin"\n\n[urls]'))
    assert load_profile(berlin).zone == ZoneInfo("Europe/Berlin")


def test_an_unknown_zone_names_the_field(tmp_path: Path) -> None:
    broken = tmp_path / "zone.toml"
    broken.write_text(SANDBOX.read_text().replace("[urls]", 'timezone = "Mars/Olympus"\n\n[urls]'))
    with pytest.raises(ProfileError, match=r"timezone: Value error, unknown time zone 'Mars"):
        load_profile(broken)
