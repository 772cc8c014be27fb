"""A handle on the sandbox platform for browser tests: its control client (shared with the
demo and the benchmarks) plus logging a Playwright page in."""

from __future__ import annotations

import time
from urllib.parse import quote

from playwright.sync_api import Page

from core.platform import BrowserProfile, named_profile
from sandbox.audit import DeliveredMessage
from sandbox.control_client import (
    DEFAULT_PASSWORD,
    InjectedMessage,
    SandboxAccount,
    SandboxControl,
    SandboxControlError,
    SandboxFan,
    SandboxPlatform,
)
from tests.helpers.stores import REPO

__all__ = [
    "DEFAULT_PASSWORD",
    "InjectedMessage",
    "Sandbox",
    "SandboxAccount",
    "SandboxControlError",
    "SandboxFan",
    "SandboxPlatform",
]


class Sandbox(SandboxControl):
    """The control client plus what only a browser test needs."""

    @property
    def profile(self) -> BrowserProfile:
        """The bundled profile of this sandbox's platform."""
        return named_profile(REPO / "browser_profiles", self.platform().profile)

    def until_delivered(
        self, account: SandboxAccount, count: int = 1, timeout_s: float = 60
    ) -> list[DeliveredMessage]:
        """The account's delivered messages, once there are `count` of them (a state the
        test waits on, with a deadline only for a platform that never gets there)."""
        deadline = time.monotonic() + timeout_s
        while len(delivered := self.delivered(account)) < count:
            assert time.monotonic() < deadline, f"{len(delivered)} of {count} messages arrived"
            time.sleep(0.02)
        return delivered

    def login(self, page: Page, account: SandboxAccount, next_url: str | None = None) -> None:
        """Log `page` in through the platform's login form (as its profile reads it); it
        lands on the inbox, or on `next_url` (a URL of this sandbox, e.g.
        `thread_url(fan)`) without a stop at the inbox."""
        query = f"?next={quote(next_url.removeprefix(self.url), safe='')}" if next_url else ""
        login = self.profile.login
        page.goto(self.login_url + query)
        page.fill(login.username, account.login)
        page.fill(login.password, account.password)
        page.click(login.submit)
        page.wait_for_selector(login.logged_in)
        # The landing page's scripts have run: a click before they bind does nothing.
        page.wait_for_load_state("domcontentloaded")
