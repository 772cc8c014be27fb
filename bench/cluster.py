"""What every fleet benchmark runs on: the parts as child processes (`Cluster`: a private
Redis, the sandbox, the control plane, the reconciler and workers, each in its own process
group), a patient client of the control plane (`FleetApi`), and the bookkeeping that finds
what a run left behind."""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from cli.processes import Child, ChildGroup, http_ok, wait_until
from cli.redis_server import PrivateRedis, free_port
from core.settings import get_settings
from sandbox.control_client import SandboxControl

# Every process a run starts carries this variable with the run's own value; Chromium and
# its helpers inherit it, so leftovers are found by it, never by a process name that other
# runs on the machine share.
TAG_VARIABLE = "FLEET_BENCH_TAG"


class BenchFailed(RuntimeError):
    """The bench could not run (a part did not start, the API refused); says what."""


def tagged_pids(tag: str) -> list[int]:
    """Live processes whose environment holds `FLEET_BENCH_TAG=tag`: what one run started,
    Chromium included. Zombies have no environment left and are not listed."""
    needle = f"{TAG_VARIABLE}={tag}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def kill_tagged(tag: str) -> int:
    """SIGKILL every process still carrying the run's tag; return how many there were."""
    pids = tagged_pids(tag)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def parse_time(value: str) -> float:
    """An API or sandbox timestamp as a Unix time (naive ones are UTC)."""
    stamp = datetime.fromisoformat(value)
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return stamp.timestamp()


class FleetApi:
    """The control plane as a script sees it, patient while it restarts: connection errors
    and 5xx are retried for `patience_s`, 4xx raise `BenchFailed` at once."""

    def __init__(self, url: str, key: str, patience_s: float = 60.0) -> None:
        self._http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        self._patience_s = patience_s

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; its JSON answer."""
        deadline = time.monotonic() + self._patience_s
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code < 500:
                    if response.is_error:
                        raise BenchFailed(
                            f"{method} {path} -> {response.status_code}: {response.text[:300]}"
                        )
                    return response.json()
                problem = f"HTTP {response.status_code}"
            if time.monotonic() > deadline:
                raise BenchFailed(f"{method} {path} failed for {self._patience_s:.0f}s: {problem}")
            time.sleep(0.2)

    def all_items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = self.call("GET", path, params=query)
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()


def _create_keys(database_url: str) -> dict[str, str]:
    """An admin and a worker key in a fresh database."""
    from core.auth import create_api_key
    from core.db import Database
    from core.enums import Role
    from core.schema import upgrade

    database = Database(database_url)
    upgrade(database)
    with database.session() as session:
        keys = {
            role.value: create_api_key(session, f"bench-{role.value}", role)
            for role in (Role.admin, Role.worker)
        }
        session.commit()
    database.dispose()
    return keys


@dataclass
class Cluster:
    """One run's parts as child processes, each stoppable and restartable on its own."""

    var_dir: Path
    time_scale: float
    extra_env: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex)
    workers: list[Child] = field(default_factory=list)
    _worker_seq: int = 0

    def __post_init__(self) -> None:
        self.children = ChildGroup(self.var_dir / "logs")
        self.redis = PrivateRedis(self.var_dir / "redis")
        self.api_url = ""
        self.sandbox_url = ""
        self.keys: dict[str, str] = {}
        self.env: dict[str, str] = {}
        self._api: Child | None = None

    def start(self) -> None:
        """Start Redis, the sandbox, the control plane and the reconciler; wait until the
        sandbox and the API answer."""
        redis_url = self.redis.start()
        database_url = f"sqlite:///{self.var_dir / 'fleet.db'}"
        self.keys = _create_keys(database_url)
        api_port, sandbox_port = free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{api_port}"
        self.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        self.env = {
            **os.environ,
            "FLEET_DATABASE_URL": database_url,
            "FLEET_REDIS_URL": redis_url,
            "FLEET_TIME_SCALE": str(self.time_scale),
            "FLEET_API_URL": self.api_url,
            "FLEET_API_PORT": str(api_port),
            "FLEET_SANDBOX_PORT": str(sandbox_port),
            "FLEET_SANDBOX_DB": str(self.var_dir / "sandbox.db"),
            "FLEET_SANDBOX_CONTROL": "true",
            "FLEET_WORKER_TOKEN": self.keys["worker"],
            "FLEET_VAR_DIR": str(self.var_dir),
            "FLEET_PROFILES_DIR": str(get_settings().profiles_dir.resolve()),
            "FLEET_LOG_LEVEL": "INFO",
            TAG_VARIABLE: self.tag,
            **self.extra_env,
        }
        self.children.start("sandbox", ["-m", "cli.main", "sandbox"], self.env)
        self._api = self.children.start("api", ["-m", "cli.main", "api"], self.env)
        self.children.start("reconciler", ["-m", "cli.main", "reconcile"], self.env)
        wait_until(http_ok(f"{self.sandbox_url}/"), 30, "the sandbox", self.check_alive)
        wait_until(http_ok(f"{self.api_url}/health"), 30, "the control plane", self.check_alive)

    def api(self, role: str = "admin") -> FleetApi:
        """A patient client of the control plane with the run's `role` key."""
        return FleetApi(self.api_url, self.keys[role])

    def start_worker(self, queues: str = "send,scrape") -> Child:
        """Start one worker (a browser worker unless told other `queues`) in its own
        process group."""
        self._worker_seq += 1
        child = self.children.start(
            f"worker-{self._worker_seq}",
            ["-m", "cli.main", "worker", "--queues", queues],
            self.env,
        )
        self.workers.append(child)
        return child

    def _forget(self, child: Child) -> None:
        self.children.children.remove(child)
        if child in self.workers:
            self.workers.remove(child)

    def kill_worker(self, child: Child) -> None:
        """SIGKILL a worker's whole process group, as a crash or an OOM kill would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait(timeout=30)
        self._forget(child)

    def exited_workers(self) -> list[tuple[Child, int]]:
        """Workers that exited by themselves since the last call, with their exit codes;
        their process groups are killed so nothing of theirs lingers."""
        gone = [
            (child, code) for child in self.workers if (code := child.process.poll()) is not None
        ]
        for child, _code in gone:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.process.pid, signal.SIGKILL)
            self._forget(child)
        return gone

    def restart_redis(self) -> float:
        """Stop Redis and start an empty one on the same port; return the seconds it was
        down."""
        started = time.monotonic()
        self.redis.stop()
        self.redis.start()
        return time.monotonic() - started

    def restart_api(self) -> float:
        """Stop the control plane (SIGTERM, as a deploy would) and start it again on the
        same port; return the seconds until it answered again."""
        if self._api is None:
            raise BenchFailed("the control plane was never started")
        started = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._api.process.pid, signal.SIGTERM)
        self._api.process.wait(timeout=30)
        self._forget(self._api)
        self._api = self.children.start("api", ["-m", "cli.main", "api"], self.env)
        wait_until(http_ok(f"{self.api_url}/health"), 30, "the control plane", self.check_alive)
        return time.monotonic() - started

    def seed_accounts(
        self,
        name: str,
        accounts: int,
        fans: int,
        *,
        password: str,
        inbound: str,
        pacing: dict[str, Any] | None = None,
        timeout_s: float = 120.0,
    ) -> dict[int, list[int]]:
        """Create `accounts` sandbox accounts (`<name>1`, ...) with `fans` fans who each
        wrote `inbound`, register them over the API (with `pacing` overrides), sweep each
        once, and return each account's conversation ids by account id."""
        control = SandboxControl(self.sandbox_url)
        admin = self.api()
        try:
            account_ids = []
            for index in range(1, accounts + 1):
                username = f"{name}{index}"
                display = f"{name.title()} Creator {index}"
                control.create_account(username, password, display)
                for fan in range(1, fans + 1):
                    control.inbound(username, control.create_fan(username, f"Fan {fan}"), inbound)
                account = admin.call(
                    "POST",
                    "/v1/accounts",
                    json={
                        "name": display,
                        "profile": "sandbox",
                        "base_url": self.sandbox_url,
                        "username": username,
                        "password": password,
                        "pacing": pacing or {},
                    },
                )
                account_ids.append(int(account["id"]))
            sweeps = [
                admin.call("POST", "/v1/sweeps", json={"account_id": account_id})[0]["id"]
                for account_id in account_ids
            ]
            deadline = time.monotonic() + timeout_s
            for sweep_id in sweeps:
                while (sweep := admin.call("GET", f"/v1/sweeps/{sweep_id}"))["status"] != "done":
                    if sweep["status"] == "failed" or time.monotonic() > deadline:
                        raise BenchFailed(f"sweep {sweep_id} did not finish: {sweep}")
                    self.check_alive()
                    time.sleep(0.2)
            conversations = {
                account_id: [
                    int(c["id"])
                    for c in admin.all_items("/v1/conversations", account_id=account_id)
                ]
                for account_id in account_ids
            }
        finally:
            admin.close()
        if any(len(ids) != fans for ids in conversations.values()):
            found = [len(ids) for ids in conversations.values()]
            raise BenchFailed(f"sweeps found {found} conversations, not {fans} per account")
        return conversations

    def check_alive(self) -> None:
        """Raise if the sandbox, the API or the reconciler died (workers may; the run
        restarts them)."""
        for child in self.children.children:
            code = child.process.poll()
            if child not in self.workers and code is not None:
                tail = child.log_path.read_text(errors="replace").splitlines()[-15:]
                raise BenchFailed(
                    f"{child.name} exited with code {code}; last lines of {child.log_path}:\n"
                    + "\n".join(tail)
                )

    def stop(self) -> int:
        """Stop every child and Redis; return how many tagged processes (Chromium, say) had
        to be killed after that because they outlived their parents."""
        self.children.stop()
        self.redis.stop()
        return kill_tagged(self.tag)
