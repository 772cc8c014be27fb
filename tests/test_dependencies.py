"""Dependencies are locked and bounded: every one has an upper bound on its major version,
the lock files pin a version each specifier allows, with hashes, and setup and the image
install from them with `--require-hashes`."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helpers.stores import REPO

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
RUNTIME = [Requirement(line) for line in PROJECT["dependencies"]]
DEV = [Requirement(line) for line in PROJECT["optional-dependencies"]["dev"]]


def _pins(lock: str) -> dict[str, str]:
    """Package name -> pinned version, from a pip-compile lock file; each pin must carry
    hashes."""
    text = (REPO / "requirements" / lock).read_text()
    pins = {}
    for name, version, hashes in re.findall(
        r"^([A-Za-z0-9_.-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", text, re.M
    ):
        assert hashes.count("--hash=") >= 1
        pins[canonicalize_name(name)] = version
    # No line pins a package without the hashes the pattern above reads.
    assert len(pins) == len(re.findall(r"^[A-Za-z0-9_.-]+==", text, re.M)), lock
    return pins


@pytest.mark.parametrize("requirement", RUNTIME + DEV, ids=str)
def test_every_dependency_has_an_upper_bound(requirement: Requirement) -> None:
    assert any(spec.operator in ("<", "<=", "~=", "==") for spec in requirement.specifier)


@pytest.mark.parametrize(("lock", "needed"), [("base.lock", RUNTIME), ("dev.lock", RUNTIME + DEV)])
def test_the_lock_pins_what_pyproject_allows(lock: str, needed: list[Requirement]) -> None:
    pins = _pins(lock)
    for requirement in needed:
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} lacks {name}: regenerate it (requirements/README.md)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{lock} pins {name}=={pins[name]}, outside {requirement.specifier}"
        )


def test_setup_and_the_image_install_from_the_locks_with_hashes() -> None:
    setup = (REPO / "scripts" / "setup").read_text()
    assert "--require-hashes -r requirements/dev.lock" in setup
    assert "--no-deps -e ." in setup
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "--require-hashes -r requirements/base.lock" in dockerfile
    assert "--no-deps ." in dockerfile
