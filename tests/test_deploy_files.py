"""Dockerfile and docker-compose.yml stay honest: Docker cannot run here, so their commands
are checked against the CLI, their variables against the settings, and the image against
what the project ships."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from typing import Any

import pytest
import yaml

from core.settings import Settings
from tests.helpers.stores import REPO

COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
DOCKERFILE = (REPO / "Dockerfile").read_text()


def _settings_variables() -> set[str]:
    """Every environment variable a setting reads."""
    names = set()
    for name, field in Settings.model_fields.items():
        names.add(f"FLEET_{name.upper()}")
        alias = field.validation_alias
        names.update(getattr(alias, "choices", []) if alias is not None else [])
    return {str(name) for name in names}


def _fleet_services() -> dict[str, dict[str, Any]]:
    """The compose services that run the project's image."""
    return {
        name: service
        for name, service in COMPOSE["services"].items()
        if service.get("image") == "inbox-fleet:latest"
    }


def test_compose_runs_the_image_for_every_fleet_part() -> None:
    commands = {name: service["command"][0] for name, service in _fleet_services().items()}
    assert commands == {
        "migrate": "db",
        "api": "api",
        "ai-worker": "worker",
        "reconciler": "reconcile",
        "worker": "worker",
        "sandbox": "sandbox",
    }


@pytest.mark.parametrize("service", sorted(_fleet_services()))
def test_each_compose_command_is_one_the_cli_takes(service: str) -> None:
    command = _fleet_services()[service]["command"]
    # Click stops at an unknown command or option before it prints the help.
    checked = subprocess.run(
        [sys.executable, "-m", "cli.main", *command, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr[-2000:]


def test_every_variable_compose_and_the_image_set_is_a_setting() -> None:
    known = _settings_variables()
    compose_vars = {
        name for service in _fleet_services().values() for name in service.get("environment", {})
    }
    image_vars = set(re.findall(r"\b(FLEET_[A-Z_]+)=", DOCKERFILE))
    assert compose_vars and image_vars
    assert (compose_vars | image_vars) - known == set()


def test_the_image_holds_every_package_and_the_profiles() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [
        name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    copied = set(re.findall(r"^COPY (\S+) ", DOCKERFILE, re.M))
    assert set(packages) | {"browser_profiles"} <= copied


def test_the_image_runs_debians_chromium_where_the_settings_look() -> None:
    assert re.search(r"apt-get install[^\n]*\bchromium\b", DOCKERFILE)
    path = re.search(r"FLEET_CHROMIUM_PATH=(\S+)", DOCKERFILE)
    assert path is not None and path.group(1) == Settings.model_fields["chromium_path"].default
    assert 'ENTRYPOINT ["fleet"]' in DOCKERFILE


def test_the_image_ships_every_page_and_script_of_the_sandbox() -> None:
    # `pip install .` copies only the data files pyproject names; a platform whose pages
    # are missing from the image fails only when a worker first opens it.
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["sandbox"]
    root = REPO / "sandbox"
    shipped = {path for pattern in declared for path in root.glob(pattern) if path.is_file()}
    needed = {
        path
        for folder in ("static", "templates")
        for path in (root / folder).rglob("*")
        if path.is_file()
    }
    assert needed <= shipped, sorted(str(path.relative_to(root)) for path in needed - shipped)
