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


V1 = REPO / "tests" / "fixtures" / "profiles" / "sandbox_v1.toml"


def test_a_schema_1_profile_is_migrated_to_what_the_bundled_one_says() -> None:
    old, new = load_profile(V1), load_profile(SANDBOX)
    assert old.thread.confirm == new.thread.confirm
    # Schema 1's "text" kept line breaks; losing them would make sent messages unfindable.
    assert old.thread.fields["text"].source == "inner_text"
    assert old.thread.fields["ppv_paid"].may_be_absent
    assert not old.thread.fields["message_id"].may_be_absent


def test_a_field_the_driver_needs_must_be_declared(tmp_path: Path) -> None:
    broken = tmp_path / "nofan.toml"
    broken.write_text(SANDBOX.read_text().replace('fan_id = { source = "attr:data-fan-id" }\n', ""))
    with pytest.raises(ProfileError, match=r"inbox\.fields: Value error, fields fan_id must be"):
        load_profile(broken)


def test_a_fallback_must_name_a_field(tmp_path: Path) -> None:
    broken = tmp_path / "fallback.toml"
    broken.write_text(
        SANDBOX.read_text().replace(
            'fan_id = { source = "attr:data-fan-id" }',
            'fan_id = { source = "attr:data-fan-id", fallback = "nickname" }',
        )
    )
    with pytest.raises(
        ProfileError, match="fan_id.fallback names 'nickname', which is not a field"
    ):
        load_profile(broken)


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ('{ action = "click" }', "a click step needs `selector`"),
        ('{ action = "press" }', "a press step needs `key`"),
        ('{ action = "select", selector = "#s" }', "a select step needs `value`"),
        ('{ action = "hover", selector = "#s" }', "Input should be 'click'"),
    ],
)
def test_an_incomplete_step_names_what_it_lacks(tmp_path: Path, step: str, problem: str) -> None:
    broken = tmp_path / "steps.toml"
    broken.write_text(
        SANDBOX.read_text().replace(
            "[thread.steps]\n", f"[thread.steps]\nbefore_price = [{step}]\n"
        )
    )
    with pytest.raises(ProfileError, match=r"thread\.steps\.before_price\.0") as caught:
        load_profile(broken)
    assert problem in str(caught.value)


def test_a_response_confirmation_needs_its_url(tmp_path: Path) -> None:
    broken = tmp_path / "confirm.toml"
    broken.write_text(
        SANDBOX.read_text().replace(
            'mode = "attribute"\nattribute = "data-last-sent-id"', 'mode = "response"'
        )
    )
    with pytest.raises(ProfileError, match=r"thread\.confirm: Value error, mode response needs"):
        load_profile(broken)


def test_a_newer_schema_than_this_fleet_reads_is_refused(tmp_path: Path) -> None:
    future = tmp_path / "future.toml"
    future.write_text(SANDBOX.read_text().replace("schema = 2", "schema = 3"))
    with pytest.raises(ProfileError, match=r"schema: Input should be less than or equal to 2"):
        load_profile(future)
