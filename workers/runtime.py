"""What a browser worker process holds for its life, and one account's session in a job.

RQ calls job functions by import path with plain arguments; they reach the worker's
browser, control-plane client and pacer through `current()`, which the worker installs.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from loguru import logger
from playwright.sync_api import BrowserContext, Page
from playwright.sync_api import Error as PlaywrightError
from redis import Redis
from rq.timeouts import BaseTimeoutException

from core.fleet.lease import AccountLease, LeaseKeeper, lease_ttl_s
from core.fleet.pacing import Pacer
from core.fleet.protocol import AccountAccess, AccountSecrets
from core.platform.profiles import BrowserProfile, named_profile
from core.platform.typing_plan import dwell_s
from core.settings import Settings
from workers.browser import BrowserHost
from workers.control_client import ControlPlaneClient
from workers.driver import PlatformDriver
from workers.errors import AccountBusy, JobFailed, LeaseLost
from workers.timings import Timings


@dataclass
class WorkerRuntime:
    """The worker's long-lived parts."""

    settings: Settings
    worker_id: str
    redis: Redis
    control: ControlPlaneClient
    browser: BrowserHost
    sleep: Callable[[float], None] = time.sleep
    # How long the current job's actions waited for the pacer (the worker resets it).
    pacer_waited_s: float = 0.0

    @cached_property
    def pacer(self) -> Pacer:
        """The fleet-wide pacer; built once, since every page load and click consults it."""
        return Pacer.for_settings(self.redis, self.settings)

    def profile(self, name: str) -> BrowserProfile:
        """A browser profile by name, loaded and validated once."""
        return named_profile(self.settings.profiles_dir, name)

    def _take_lease(self, account_id: int) -> AccountLease:
        lease = AccountLease(
            self.redis,
            self.settings.redis_key_prefix,
            account_id,
            self.worker_id,
            lease_ttl_s(self.settings),
        )
        deadline = time.monotonic() + lease_ttl_s(self.settings)
        while not lease.acquire():
            if time.monotonic() >= deadline:
                raise AccountBusy(f"account {account_id} is driven by another worker")
            time.sleep(0.05)
        return lease

    @contextmanager
    def account_session(
        self,
        access: AccountAccess,
        label: str,
        on_failure: Callable[[JobFailed], None] | None = None,
    ) -> Iterator[PlatformDriver]:
        """Lease the account, fetch its secrets, open its context and a page, and yield a
        driver.

        On failure the page's screenshot and a Playwright trace are kept under
        `var/artifacts/<label>/`, `on_failure` reports the `JobFailed` while the lease is
        still held, and the `JobFailed` is raised. A job reports success inside the block,
        for the same reason: the reconciler takes back a running job whose worker holds no
        lease, so a job that released its lease first could see its own report refused.
        The session state is saved back to the control plane on success, and the lease is
        released on the way out.
        """
        log = logger.bind(account_id=access.account_id, job=label)
        lease = self._take_lease(access.account_id)
        keeper = LeaseKeeper(lease, lease_ttl_s(self.settings) / 3)
        with keeper:
            page: Page | None = None
            context: BrowserContext | None = None
            try:
                # Everything that can fail is done holding the lease, so that a missing
                # profile, a Chromium that will not start or a selector that matches
                # nothing is reported as this job's failure, never mistaken for a dead
                # worker once the lease is let go.
                profile = self.profile(access.profile)
                # Only now, holding the lease: the control plane hands secrets to no one else.
                secrets = self.control.account_secrets(access.account_id, self.worker_id)
                context = self.browser.context_for(access.account_id, secrets.storage_state)
                if profile.session == "single" and secrets.storage_state:
                    self._adopt_session(access.account_id, context, secrets.storage_state)
                self._start_trace(context)
                page = context.new_page()
                driver = self._driver(access, profile, secrets, keeper, context, page, label)
                yield driver
            except Exception as exc:
                if isinstance(exc, BaseTimeoutException | PlaywrightError):
                    self.browser.mark_suspect()
                artifacts = self._keep_artifacts(page, context, label)
                log.bind(error=type(exc).__name__, **artifacts).error(f"job failed: {exc}")
                failed = JobFailed(f"{type(exc).__name__}: {exc}", artifacts)
                failed.__cause__ = exc
                if on_failure is not None:
                    on_failure(failed)
                raise failed from exc
            else:
                self._stop_trace(context)
                self._save_session(access.account_id, context)
            finally:
                if page is not None:
                    with suppress(PlaywrightError):
                        page.close()

    def _driver(
        self,
        access: AccountAccess,
        profile: BrowserProfile,
        secrets: AccountSecrets,
        keeper: LeaseKeeper,
        context: BrowserContext,
        page: Page,
        label: str,
    ) -> PlatformDriver:
        """A driver for one job on `page`, every action paced and checked against the
        lease."""
        rng = random.Random(label)
        budgets = access.pacing.apply(profile.pacing)
        timings = Timings()

        def gate() -> None:
            if keeper.lost.is_set():
                raise LeaseLost(f"lost the lease on account {access.account_id}")
            with timings.measure("pacer"):
                waited = time.perf_counter()
                self.pacer.acquire(access.account_id, "action", budgets)
                self.pacer_waited_s += time.perf_counter() - waited
                self.sleep(self.settings.scaled(dwell_s(profile.typing, rng)))

        def send_gate() -> None:
            if keeper.lost.is_set():
                raise LeaseLost(f"lost the lease on account {access.account_id}")
            waited = time.perf_counter()
            self.pacer.acquire(access.account_id, "send", budgets)
            self.pacer_waited_s += time.perf_counter() - waited

        @contextmanager
        def unrecorded() -> Iterator[None]:
            self._stop_trace(context)
            try:
                yield
            finally:
                self._start_trace(context)

        return PlatformDriver(
            page,
            profile,
            access.base_url,
            gate,
            send_gate,
            self.sleep,
            self.settings.time_scale,
            (secrets.username, secrets.password),
            unrecorded,
            timeout_ms=self.settings.page_timeout_s * 1000,
            # Stored at once: on a single-session platform the next worker must take
            # this login rather than make its own (which would end this one).
            on_login=lambda: self._save_session(access.account_id, context),
            timings=timings,
        )

    def _start_trace(self, context: BrowserContext) -> None:
        if self.settings.job_trace != "off":
            context.tracing.start(
                screenshots=self.settings.job_trace == "screenshots", snapshots=True
            )

    def _stop_trace(self, context: BrowserContext, path: Path | None = None) -> None:
        if self.settings.job_trace != "off":
            context.tracing.stop(path=path)

    def _keep_artifacts(
        self, page: Page | None, context: BrowserContext | None, label: str
    ) -> dict[str, str]:
        """The screenshot and trace of a failed job, as far as it got: one that failed
        before its context or page opened has no trace or no screenshot."""
        artifacts: dict[str, str] = {}
        if context is None:
            return artifacts
        folder = (self.settings.var_dir / "artifacts" / label).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        shot, trace = folder / "screenshot.png", folder / "trace.zip"
        if page is not None:
            try:
                page.screenshot(path=str(shot), full_page=True)
                artifacts["screenshot"] = str(shot)
            except Exception as exc:
                logger.debug(f"no screenshot: {exc}")
        if self.settings.job_trace == "off":
            return artifacts
        try:
            self._stop_trace(context, trace)
            artifacts["trace"] = str(trace)
        except Exception as exc:
            logger.debug(f"no trace: {exc}")
        return artifacts

    @staticmethod
    def _adopt_session(account_id: int, context: BrowserContext, stored: dict) -> None:
        """Give `context` the stored session's cookies when they differ from its own.

        On a platform that allows one session per account, another worker may have logged
        in since this context last ran: its old cookie is dead, and logging in again would
        end the other worker's session in turn. The stored session is the live one. (The
        account lease already keeps logins for one account one at a time, fleet-wide.)"""
        cookies = stored.get("cookies") or []

        def key(cookie: dict) -> tuple:
            return (cookie.get("name"), cookie.get("value"), cookie.get("domain"))

        if {key(c) for c in context.cookies()} == {key(c) for c in cookies}:
            return
        context.clear_cookies()
        context.add_cookies(cookies)
        logger.bind(account_id=account_id).info("took the account's stored session")

    def _save_session(self, account_id: int, context: BrowserContext) -> None:
        self.control.store_session(account_id, dict(context.storage_state()))

    def close(self) -> None:
        """Close the browser and the control-plane client."""
        self.browser.close()
        self.control.close()


_local = threading.local()


def install(runtime: WorkerRuntime) -> None:
    """Make `runtime` the one job functions in this process use."""
    _local.runtime = runtime


def current() -> WorkerRuntime:
    """The runtime installed by the worker running this job."""
    runtime: WorkerRuntime | None = getattr(_local, "runtime", None)
    if runtime is None:
        raise RuntimeError("no worker runtime installed: run browser jobs in `fleet worker`")
    return runtime
