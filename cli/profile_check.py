"""The browser side of `fleet profile check`: a Chromium, a pacer and a driver for one
profile and one account, and the check run over them (`workers.profile_check`)."""

from __future__ import annotations

import random
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from redis import Redis

from core.fleet.pacing import Pacer
from core.platform.profiles import BrowserProfile
from core.platform.typing_plan import dwell_s
from core.settings import Settings
from workers.browser import chromium_args
from workers.driver import PlatformDriver
from workers.errors import PlatformError
from workers.profile_check import CheckReport, ProfileCheck

# The pacing budget the check spends: no fleet account has id 0, so a check never eats
# into an account's budget, and its own actions keep to the profile's pace.
CHECK_BUDGET = 0


def run_check(
    settings: Settings,
    profile: BrowserProfile,
    url: str,
    credentials: tuple[str, str],
    screenshots: Path,
    rows: int,
    threads: int,
) -> CheckReport:
    """Check `profile` against the site at `url`, logged in with `credentials`."""
    pacer = Pacer.for_settings(Redis.from_url(settings.redis_url or ""), settings)
    rng = random.Random(profile.name)

    def gate() -> None:
        pacer.acquire(CHECK_BUDGET, "action", profile.pacing)
        time.sleep(settings.scaled(dwell_s(profile.typing, rng)))

    def never_send() -> None:
        raise PlatformError("the profile check reads only: it never sends")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=settings.chromium_path, args=chromium_args(settings.chromium_sandbox)
        )
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            driver = PlatformDriver(
                page,
                profile,
                url,
                gate,
                never_send,
                time.sleep,
                settings.time_scale,
                credentials,
                timeout_ms=settings.page_timeout_s * 1000,
            )
            return ProfileCheck(driver, screenshots, rows, threads).run()
        finally:
            browser.close()
