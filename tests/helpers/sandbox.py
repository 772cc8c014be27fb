"""A handle on the sandbox platform for browser tests: its control client (shared with the
demo and the benchmarks) plus logging a Playwright page in."""

from __future__ import annotations

from urllib.parse import quote

from playwright.sync_api import Page

from sandbox.control_client import (
    DEFAULT_PASSWORD,
    InjectedMessage,
    SandboxAccount,
    SandboxControl,
    SandboxControlError,
    SandboxFan,
)

__all__ = [
    "DEFAULT_PASSWORD",
    "InjectedMessage",
    "Sandbox",
    "SandboxAccount",
    "SandboxControlError",
    "SandboxFan",
]


class Sandbox(SandboxControl):
    """The control client plus what only a browser test needs."""

    def login(self, page: Page, account: SandboxAccount, next_url: str | None = None) -> None:
        """Log `page` in through the login form; it lands on the inbox, or on `next_url`
        (a URL of this sandbox, e.g. `thread_url(fan)`) without a stop at the inbox."""
        query = f"?next={quote(next_url.removeprefix(self.url), safe='')}" if next_url else ""
        page.goto(self.login_url + query)
        page.fill("#username", account.username)
        page.fill("#password", account.password)
        page.click("#login-submit")
        page.wait_for_selector("[data-testid=account-menu]")
