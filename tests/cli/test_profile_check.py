"""`fleet profile check` against both bundled platforms: it shows what every field of the
bundled profile reads, and names each selector a broken profile gets wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.cli import fleet
from tests.helpers.sandbox import Sandbox
from tests.helpers.stores import REPO

pytestmark = pytest.mark.browser


def _seed(sandbox: Sandbox) -> str:
    account = sandbox.create_account("checked")
    for index in range(2):
        fan = sandbox.create_fan(account, f"Fan {index}")
        sandbox.inbound(account, fan, f"hello\nfrom fan {index}")
        sandbox.tip(account, fan, 123456, "for you")
    offer = sandbox.offer(account, fan, "a little something", 1250)
    sandbox.purchase(offer.message_id)
    return account.login


def _check(sandbox: Sandbox, profile: Path, login: str, redis_url: str, out: Path):
    return fleet(
        "profile",
        "check",
        str(profile),
        "--url",
        sandbox.url,
        "--username",
        login,
        "--out",
        str(out),
        env={"FLEET_REDIS_URL": redis_url, "FLEET_CHECK_PASSWORD": "correct horse battery"},
        timeout=120,
    )


def _profile_file(sandbox: Sandbox) -> Path:
    return REPO / "browser_profiles" / f"{sandbox.platform().profile}.toml"


def test_every_field_of_a_bundled_profile_reads(
    platform_sandbox: Sandbox, redis_url: str, tmp_path: Path
) -> None:
    login = _seed(platform_sandbox)
    result = _check(platform_sandbox, _profile_file(platform_sandbox), login, redis_url, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    profile = platform_sandbox.profile
    for section, fields in (("inbox", profile.inbox.fields), ("thread", profile.thread.fields)):
        for name in fields:
            assert f"{section}.fields.{name}:" in out, name
    # Typed as the fleet stores them: line breaks kept, money in cents, times in UTC.
    assert "text='hello\\nfrom fan 1'" in out
    assert "tip_cents=123456" in out
    assert "purchases: 1 PPV message(s) bought" in out
    assert "+00:00" in out
    assert "PROBLEM" not in out
    assert out.strip().endswith("every field and selector read")


def test_a_broken_profile_names_each_wrong_selector_with_a_screenshot(
    platform_sandbox: Sandbox, redis_url: str, tmp_path: Path
) -> None:
    login = _seed(platform_sandbox)
    profile = platform_sandbox.profile
    text = _profile_file(platform_sandbox).read_text()
    # Inside an element that is not there: valid selectors that match nothing.
    for selector in (profile.thread.composer, profile.thread.fields["text"].selector):
        assert text.count(f'"{selector}"') == 1, selector
        text = text.replace(f'"{selector}"', f'".typo {selector}"')
    broken = tmp_path / f"{profile.name}.toml"
    broken.write_text(text)

    result = _check(platform_sandbox, broken, login, redis_url, tmp_path / "shots")

    assert result.returncode == 1, result.stdout + result.stderr
    out = result.stdout
    assert f"PROBLEM thread.composer '.typo {profile.thread.composer}' matched nothing" in out
    assert "PROBLEM thread.fields.text: read nothing in 2 rows" in out
    assert out.strip().endswith("problem(s)")
    assert list((tmp_path / "shots").glob("thread-*.png")), "no screenshot of the thread"
