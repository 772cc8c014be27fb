"""One Playwright + Chromium per worker process, and one context per account it serves.

The host is created in the worker process (never across a fork), hands out an account's
context built from its stored session state, recycles contexts every N jobs, restarts
Chromium every M jobs or H hours, and relaunches it when a job leaves it suspect (a
timeout, a crash).

Each of these is a `HostEvent`: kept on the host (`BrowserHost.events`) and logged as one
`browser event` line with its kind, which `events_in_log` reads back from a worker's JSON
log (`FLEET_LOG_FORMAT=json`), so a benchmark or a test sees what the host did rather than
guessing it from the rules.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from loguru import logger
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from workers.errors import ConfigurationError

# Debian's Chromium in a closed network: without these it tries to reach Google's hosts at
# start. None of them hides automation.
_QUIET_ARGS: tuple[str, ...] = (
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_args(sandbox: bool | None = None) -> list[str]:
    """Chromium's command-line flags. Its sandbox stays on unless `sandbox` is false, or
    is None (unset) and this process runs as root, where Chromium refuses to start with
    it (a root process is the one case the sandbox cannot confine)."""
    if sandbox is None:
        sandbox = os.geteuid() != 0
    return list(_QUIET_ARGS) if sandbox else ["--no-sandbox", *_QUIET_ARGS]


EVENT_MESSAGE = "browser event"


class BrowserEvent(StrEnum):
    """What the host did to its browser or a context."""

    # Chromium started: the first launch, and again after every restart or relaunch.
    launched = "launched"
    # A planned restart between jobs: the browser served its jobs or reached its age.
    restarted = "restarted"
    # An unplanned restart: a job left the browser suspect, or it disconnected.
    relaunched = "relaunched"
    # An account's context served its jobs and was replaced by a fresh one.
    context_recycled = "context_recycled"


@dataclass(frozen=True)
class HostEvent:
    """One thing the host did, and the account it concerned (context events only)."""

    kind: BrowserEvent
    account_id: int | None = None


def events_in_log(text: str) -> list[HostEvent]:
    """The host events in a worker's log written as JSON lines (`FLEET_LOG_FORMAT=json`), in
    order; other lines, and lines that are not JSON, are skipped."""
    events = []
    for line in text.splitlines():
        if EVENT_MESSAGE not in line:
            continue
        try:
            record = json.loads(line)["record"]
        except (ValueError, KeyError, TypeError):
            continue
        extra = record.get("extra", {})
        if record.get("message") == EVENT_MESSAGE and "browser_event" in extra:
            events.append(HostEvent(BrowserEvent(extra["browser_event"]), extra.get("account_id")))
    return events


@dataclass
class _AccountContext:
    context: BrowserContext
    jobs: int = 0


class BrowserHost:
    """Owns the worker's browser and its per-account contexts."""

    def __init__(
        self,
        chromium_path: str,
        headless: bool = True,
        sandbox: bool | None = None,
        recycle_every: int = 50,
        restart_every: int = 500,
        max_age_s: float = 6 * 3600,
    ) -> None:
        self._chromium_path = chromium_path
        self._headless = headless
        self._sandbox = sandbox
        self._recycle_every = recycle_every
        self._restart_every = restart_every
        self._max_age_s = max_age_s
        self._launched_at = 0.0
        self._jobs_since_launch = 0
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._contexts: dict[int, _AccountContext] = {}
        self._suspect = False
        self.events: list[HostEvent] = []

    def _record(self, kind: BrowserEvent, account_id: int | None = None, **detail: object) -> None:
        self.events.append(HostEvent(kind, account_id))
        log = logger.bind(browser_event=kind.value, account_id=account_id, **detail)
        if kind == BrowserEvent.relaunched:
            log.warning(EVENT_MESSAGE)
        else:
            log.info(EVENT_MESSAGE)

    def count(self, kind: BrowserEvent) -> int:
        """How many times the host did `kind` so far."""
        return sum(event.kind == kind for event in self.events)

    def start(self) -> None:
        """Launch Chromium now, so that a worker that cannot run one says so at start-up
        rather than failing every job: `ConfigurationError`, in one line, when it cannot."""
        path = Path(self._chromium_path)
        if not path.is_file() or not os.access(path, os.X_OK):
            raise ConfigurationError(
                f"FLEET_CHROMIUM_PATH: no executable at {path} "
                "(install Debian's chromium, or point FLEET_CHROMIUM_PATH at one)"
            )
        try:
            self._ensure_browser()
        except PlaywrightError as exc:
            self.close()
            first = next((line for line in exc.message.splitlines() if line.strip()), "")
            raise ConfigurationError(
                f"FLEET_CHROMIUM_PATH: Chromium at {path} did not start: {first}"
            ) from exc

    def _ensure_browser(self) -> Browser:
        if self._suspect or (self._browser is not None and not self._browser.is_connected()):
            self._record(BrowserEvent.relaunched, suspect=self._suspect)
            self.close()
        elif self._browser is not None and self._worn_out():
            self._record(BrowserEvent.restarted, jobs=self._jobs_since_launch)
            self.close()
        if self._browser is None:
            if self._playwright is None:
                self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=self._chromium_path,
                headless=self._headless,
                args=chromium_args(self._sandbox),
            )
            self._launched_at = time.monotonic()
            self._jobs_since_launch = 0
            self._record(BrowserEvent.launched)
        return self._browser

    def _worn_out(self) -> bool:
        # Long-lived Chromium grows; a planned restart between jobs is cheaper than a leak.
        return (
            self._jobs_since_launch >= self._restart_every
            or time.monotonic() - self._launched_at >= self._max_age_s
        )

    def context_for(self, account_id: int, storage_state: dict | None) -> BrowserContext:
        """The account's context, created from `storage_state` when it has none yet."""
        browser = self._ensure_browser()
        held = self._contexts.get(account_id)
        if held is not None and held.jobs >= self._recycle_every:
            self.drop_context(account_id)
            self._record(BrowserEvent.context_recycled, account_id)
            held = None
        if held is None:
            context = browser.new_context(
                storage_state=storage_state,  # type: ignore[arg-type]
                viewport={"width": 1280, "height": 900},
            )
            held = _AccountContext(context)
            self._contexts[account_id] = held
        held.jobs += 1
        self._jobs_since_launch += 1
        return held.context

    def drop_context(self, account_id: int) -> None:
        """Close an account's context, e.g. after its session went bad."""
        held = self._contexts.pop(account_id, None)
        if held is not None:
            try:
                held.context.close()
            except Exception as exc:  # a dead browser cannot close its contexts
                logger.bind(account_id=account_id).debug(f"context close failed: {exc}")

    def mark_suspect(self) -> None:
        """Relaunch the browser before the next job (after a timeout or a crash)."""
        self._suspect = True

    def close(self) -> None:
        """Close every context, the browser and Playwright; safe to call twice."""
        for account_id in list(self._contexts):
            self.drop_context(account_id)
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception as exc:
                logger.debug(f"browser close failed: {exc}")
            self._browser = None
        if self._playwright is not None:
            try:
                self._playwright.stop()
            except Exception as exc:
                logger.debug(f"playwright stop failed: {exc}")
            self._playwright = None
        self._suspect = False
