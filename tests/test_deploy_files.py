"""Dockerfile, docker-compose.yml and deploy/kubernetes stay honest: Docker cannot run
here, so their commands are checked against the CLI, their variables against the settings,
their secrets against the roles that use them, and the image against what the project
ships."""

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
KUBERNETES = [
    document
    for path in sorted((REPO / "deploy" / "kubernetes").glob("*.yaml"))
    for document in yaml.safe_load_all(path.read_text())
    if document
]

# Which role a `fleet` command runs, and the secrets each role may hold: a browser worker
# holds its worker key and nothing else, the scheduler nothing at all.
SECRETS = {"FLEET_DATABASE_URL", "FLEET_SECRET_KEY", "OPENAI_API_KEY", "FLEET_WORKER_TOKEN"}
ROLE_SECRETS: dict[str, set[str]] = {
    "migrate": {"FLEET_DATABASE_URL", "FLEET_SECRET_KEY"},
    "api": {"FLEET_DATABASE_URL", "FLEET_SECRET_KEY", "OPENAI_API_KEY"},
    "ai-worker": {"FLEET_DATABASE_URL", "OPENAI_API_KEY"},
    "reconciler": {"FLEET_DATABASE_URL"},
    "scheduler": set(),
    "browser-worker": {"FLEET_WORKER_TOKEN"},
    "sandbox": set(),
}


def role(command: list[str]) -> str:
    """The role a `fleet` command line runs."""
    if command[:2] == ["db", "upgrade"]:
        return "migrate"
    if command[0] == "worker":
        return "ai-worker" if command[command.index("--queues") + 1] == "ai" else "browser-worker"
    return {"reconcile": "reconciler"}.get(command[0], command[0])


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


def _containers() -> dict[str, dict[str, Any]]:
    """The Kubernetes containers that run the project's image, by workload name."""
    found = {}
    for document in KUBERNETES:
        spec = document.get("spec", {}).get("template", {}).get("spec", {})
        for container in spec.get("containers", []):
            if container["image"] == "inbox-fleet:latest":
                found[document["metadata"]["name"]] = container
    return found


# Every way the project's image is run: compose services and Kubernetes containers, each
# with its command and the environment variables it is given.
RUNS: dict[str, tuple[list[str], set[str]]] = {
    **{
        f"compose:{name}": (service["command"], set(service.get("environment", {})))
        for name, service in _fleet_services().items()
    },
    **{
        f"kubernetes:{name}": (container["args"], {env["name"] for env in container.get("env", [])})
        for name, container in _containers().items()
    },
}


def test_compose_and_kubernetes_run_every_long_lived_role() -> None:
    compose = {role(service["command"]) for service in _fleet_services().values()}
    kubernetes = {role(container["args"]) for container in _containers().values()}
    assert compose == set(ROLE_SECRETS)
    assert kubernetes == set(ROLE_SECRETS) - {"sandbox"}


@pytest.mark.parametrize("run", sorted(RUNS))
def test_each_command_is_one_the_cli_takes(run: str) -> None:
    command, _ = RUNS[run]
    # Click stops at an unknown command or option before it prints the help.
    checked = subprocess.run(
        [sys.executable, "-m", "cli.main", *command, "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr[-2000:]


@pytest.mark.parametrize("run", sorted(RUNS))
def test_every_variable_given_is_a_setting_and_a_secret_only_where_used(run: str) -> None:
    command, variables = RUNS[run]
    assert variables - _settings_variables() == set()
    assert variables & SECRETS <= ROLE_SECRETS[role(command)], role(command)


def test_every_variable_the_image_sets_is_a_setting() -> None:
    image_vars = set(re.findall(r"\b(FLEET_[A-Z_]+)=", DOCKERFILE))
    assert image_vars and image_vars - _settings_variables() == set()


def test_compose_restarts_checks_health_and_keeps_state_on_named_volumes() -> None:
    services = COMPOSE["services"]
    for name, service in services.items():
        expected = "no" if name == "migrate" else "unless-stopped"
        assert service.get("restart") == expected, name
    for name in ("redis", "postgres", "api"):
        assert "healthcheck" in services[name], name
    assert "/health" in " ".join(services["api"]["healthcheck"]["test"])
    assert "redis-data:/data" in services["redis"]["volumes"]
    named = set(COMPOSE["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in named, volume


def test_compose_publishes_no_sandbox_control_api_and_runs_the_sandbox_only_for_demos() -> None:
    sandbox = COMPOSE["services"]["sandbox"]
    assert sandbox["profiles"] == ["demo"]
    assert sandbox["environment"].get("FLEET_SANDBOX_CONTROL") == "false"
    assert all(port.startswith("127.0.0.1:") for port in sandbox["ports"])


def test_browser_workers_keep_chromiums_sandbox() -> None:
    assert "--no-sandbox" not in DOCKERFILE.split("FROM", 1)[1]
    assert re.search(r"^USER (?!root)\S+", DOCKERFILE, re.M)
    worker = COMPOSE["services"]["worker"]
    assert worker["security_opt"] == ["seccomp=unconfined"]
    context = _containers()["fleet-browser-worker"]["securityContext"]
    assert context["runAsNonRoot"] is True and context["seccompProfile"] == {"type": "Unconfined"}


def test_keda_scales_the_browser_workers_on_the_send_and_scrape_queues() -> None:
    [scaled] = [d for d in KUBERNETES if d["kind"] == "ScaledObject"]
    assert scaled["spec"]["scaleTargetRef"]["name"] == "fleet-browser-worker"
    lists = {t["metadata"]["listName"] for t in scaled["spec"]["triggers"] if t["type"] == "redis"}
    assert lists == {f"rq:queue:{name}" for name in ("send", "scrape")}


def test_the_api_is_probed_on_health_in_kubernetes() -> None:
    api = _containers()["fleet-api"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health"


def test_the_image_holds_every_package_and_the_profiles() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = [
        name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    copied = set(re.findall(r"^COPY (\S+) ", DOCKERFILE, re.M))
    # Benchmarks stay out of the image.
    assert (set(packages) - {"bench"}) | {"browser_profiles"} <= copied
    assert "bench" not in copied


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


def test_the_shared_kubernetes_config_holds_settings_and_no_secret() -> None:
    [config] = [d for d in KUBERNETES if d["kind"] == "ConfigMap"]
    assert set(config["data"]) <= _settings_variables()
    assert not set(config["data"]) & SECRETS
