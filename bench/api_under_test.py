"""A control plane under measurement on PostgreSQL, shared by the HTTP benchmarks: a fresh
database seeded by the bench (`seeded_api`), API keys, the API as its own process (as in
production), timed calls and their percentiles, and the process's peak memory."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import make_url, text

from bench.cluster import BenchFailed
from cli.processes import Child, ChildGroup, http_ok, wait_until
from cli.redis_server import PrivateRedis, free_port
from core.auth import create_api_key
from core.db import Database
from core.enums import Role
from core.schema import upgrade

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_database(server_url: str, bench: str) -> Iterator[str]:
    """A new empty database on the PostgreSQL server at `server_url`, dropped after."""
    url = make_url(server_url)
    name = f"bench_{bench}_{os.getpid()}"
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def mint_keys(database: Database) -> dict[str, str]:
    """An API key per role, by role name."""
    with database.session() as session:
        keys = {
            role.value: create_api_key(session, f"bench-{role.value}", role)
            for role in (Role.admin, Role.operator, Role.worker)
        }
        session.commit()
    return keys


def vacuum_analyze(database: Database) -> None:
    """As autovacuum does soon after a bulk load: the planner needs the counts, and
    index-only scans the visibility map."""
    with database.engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))


def start_api(
    children: ChildGroup, redis: PrivateRedis, database_url: str, root: Path
) -> tuple[Child, str]:
    """The control plane as a child process on a free port, answering; and its URL."""
    port = free_port()
    env = {
        **os.environ,
        "FLEET_DATABASE_URL": database_url,
        "FLEET_REDIS_URL": redis.start(),
        "FLEET_API_PORT": str(port),
        "FLEET_VAR_DIR": str(root),
        "FLEET_LOG_LEVEL": "INFO",
    }
    api = children.start("api", ["-m", "cli.main", "api"], env)
    url = f"http://127.0.0.1:{port}"
    wait_until(http_ok(f"{url}/health"), 60, "the control plane", lambda: None)
    return api, url


def timed(call: Callable[[], httpx.Response], status: int = 200) -> float:
    """How long `call` took, in ms; `BenchFailed` unless it answered `status`."""
    started = time.perf_counter()
    response = call()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != status:
        raise BenchFailed(
            f"{response.request.url} -> {response.status_code}: {response.text[:300]}"
        )
    return elapsed


def quantiles(samples: list[float]) -> dict[str, float]:
    """The median and 95th percentile of `samples` (ms)."""
    cuts = statistics.quantiles(samples, n=20)
    return {"p50_ms": round(statistics.median(samples), 1), "p95_ms": round(cuts[18], 1)}


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    raise BenchFailed(f"no VmHWM for process {pid}")


@dataclass(frozen=True)
class SeededApi:
    """The API answering over a seeded database: a client, a key per role, how long the
    seeding took, the API's process and its database's URL."""

    http: httpx.Client
    keys: dict[str, str]
    seed_s: float
    api: Child
    database_url: str

    def headers(self, role: str) -> dict[str, str]:
        """The headers of a request with `role`'s key."""
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def peak_rss_mb(self) -> float:
        """The API process's peak resident memory so far, in MB."""
        return peak_rss_mb(self.api.process.pid)


@contextmanager
def seeded_api(
    server_url: str, bench: str, root: Path, seed: Callable[[Database], None]
) -> Iterator[SeededApi]:
    """A fresh database on `server_url`, migrated and filled by `seed`, then vacuumed; the
    API serving it; everything stopped and dropped on the way out."""
    children = ChildGroup(root / "logs")
    redis = PrivateRedis(root / "redis")
    with fresh_database(server_url, bench) as database_url:
        try:
            database = Database(database_url)
            upgrade(database)
            started = time.perf_counter()
            seed(database)
            seed_s = time.perf_counter() - started
            keys = mint_keys(database)
            vacuum_analyze(database)
            database.dispose()
            api, url = start_api(children, redis, database_url, root)
            with httpx.Client(base_url=url, timeout=300) as http:
                yield SeededApi(http, keys, seed_s, api, database_url)
        finally:
            children.stop()
            redis.stop()
