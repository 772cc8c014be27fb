"""Where tests find the machine's real services, and a free port for their own.

Tests run against the machine's real Redis (own database per xdist worker, own key
prefix, flushed around each test), its PostgreSQL and Debian's Chromium.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
TEST_KEY_PREFIX = "fleettest:"
CHROMIUM = os.environ.get("FLEET_CHROMIUM_PATH", "/usr/bin/chromium")


def worker_redis_url(base: str, worker: str) -> str:
    """The Redis URL for one pytest-xdist worker: `gwN` gets the base database + N, so
    parallel workers never flush each other's keys."""
    if not worker.startswith("gw"):
        return base
    url = urlsplit(base)
    base_db = url.path.lstrip("/") or "0"
    if url.scheme not in ("redis", "rediss") or url.query or not base_db.isdigit():
        raise RuntimeError(f"FLEET_TEST_REDIS_URL must look like redis://host:port/db: {base}")
    database = int(base_db) + int(worker[2:])
    if database > 15:
        raise RuntimeError(f"too many test workers for Redis databases from {base}: {worker}")
    return url._replace(path=f"/{database}").geturl()


TEST_REDIS_URL = worker_redis_url(
    os.environ.get("FLEET_TEST_REDIS_URL", "redis://127.0.0.1:6379/13"),
    os.environ.get("PYTEST_XDIST_WORKER", ""),
)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
