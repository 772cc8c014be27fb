"""`fleet profile check`: try a profile against a live site, reading only.

This is how a person writes a profile for a new platform. It logs in with the profile's
login selectors, reads the inbox and the first threads through the profile's fields (every
page load and click through the pacer, as a worker's), and reports:

- what each field read on the first rows and messages, and where it read nothing;
- the typed values the fleet would store, or the error the driver would raise;
- every selector, and whether it matched on the page it belongs to; a selector that
  matched nothing is named, with a screenshot of that page.

It never types into the composer, never reveals a price box and never sends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from core.platform.profiles import BrowserProfile
from workers.driver import PlatformDriver
from workers.errors import LoginFailed, PlatformError


@dataclass(frozen=True)
class SelectorCheck:
    """One selector of the profile, on the page it belongs to."""

    name: str
    selector: str
    page: str
    matched: int
    screenshot: Path | None = None
    # Some selectors must match nothing on a healthy page: an error, a throttle banner.
    absent_is_fine: bool = False

    @property
    def ok(self) -> bool:
        """Whether the selector did what it should on its page."""
        return self.matched > 0 or self.absent_is_fine


@dataclass
class CheckReport:
    """Everything `fleet profile check` found."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    selectors: list[SelectorCheck] = field(default_factory=list)

    def say(self, line: str) -> None:
        """A line of the report."""
        self.lines.append(line)

    def problem(self, line: str) -> None:
        """A line of the report that makes the check fail."""
        self.problems.append(line)
        self.lines.append(f"PROBLEM {line}")


# A selector to check: its name in the profile, the selector, and whether it may match
# nothing: always (True), never (False or None), or when this empty-state selector matches.
Check = tuple[str, str, bool | str | None]


def _shown(value: object) -> str:
    return "(nothing)" if value is None else repr(value)


class ProfileCheck:
    """One run of the check over a logged-out page."""

    def __init__(
        self,
        driver: PlatformDriver,
        screenshots: Path,
        rows: int = 3,
        threads: int = 2,
    ) -> None:
        self.driver = driver
        self.profile: BrowserProfile = driver.profile
        self.page: Page = driver.page
        self.screenshots = screenshots
        self.rows = rows
        self.threads = threads
        self.report = CheckReport()

    def run(self) -> CheckReport:
        """Log in, read the inbox and the first threads, and check every selector."""
        report = self.report
        try:
            conversations = self._inbox()
        except LoginFailed as exc:
            report.problem(f"login: {exc}")
            self._selectors("login", self._login_selectors())
            return report
        except (PlatformError, PlaywrightError) as exc:
            report.problem(f"inbox: {exc}")
            self._selectors("inbox", self._inbox_selectors())
            return report
        for conversation_id in conversations[: self.threads]:
            self._thread(conversation_id)
        if self.profile.purchases is not None and self.profile.urls.purchases is not None:
            self._purchases()
        return report

    def _purchases(self) -> None:
        driver, report = self.driver, self.report
        purchases = self.profile.purchases
        assert purchases is not None
        try:
            bought = driver.bought_messages()
        except (PlatformError, PlaywrightError) as exc:
            report.problem(f"purchases: {exc}")
        else:
            report.say(f"purchases: {len(bought)} PPV message(s) bought")
            self._fields("purchases", driver.field_rows("purchases"))
        checks: list[Check] = [("purchases.item", purchases.item, purchases.empty)]
        if purchases.ready:
            checks.append(("purchases.ready", purchases.ready, False))
        self._selectors("purchases", checks)

    def _inbox(self) -> list[str]:
        driver, report = self.driver, self.report
        rows = driver.list_conversations()
        report.say(f"login: ok ({driver.logins} login)")
        report.say(f"inbox: {len(rows)} conversations")
        raw = driver.field_rows("inbox")
        self._fields("inbox", raw)
        for index, row in enumerate(rows[: self.rows]):
            report.say(
                f"  conversation {index + 1}: id={row.conversation_id!r} fan_id={row.fan_id!r} "
                f"fan_name={row.fan_name!r} last_message_at="
                f"{row.last_message_at.isoformat() if row.last_message_at else None} "
                f"unread={row.unread}"
            )
        self._selectors("inbox", self._inbox_selectors())
        return [row.conversation_id for row in rows]

    def _thread(self, conversation_id: str) -> None:
        driver, report = self.driver, self.report
        try:
            driver.open_thread(conversation_id)
        except (PlatformError, PlaywrightError) as exc:
            report.problem(f"thread {conversation_id}: did not load: {exc}")
            self._selectors(f"thread {conversation_id}", self._thread_selectors())
            return
        try:
            raw = driver.field_rows("thread")
        except PlatformError as exc:
            report.problem(f"thread {conversation_id}: {exc}")
            self._selectors(f"thread {conversation_id}", self._thread_selectors())
            return
        report.say(f"thread {conversation_id}: {len(raw)} messages")
        self._fields("thread", raw)
        try:
            messages = driver.read_thread()
        except PlatformError as exc:
            report.problem(f"thread {conversation_id}: {exc}")
        else:
            for index, message in enumerate(messages[: self.rows]):
                report.say(
                    f"  message {index + 1}: id={message.platform_message_id!r} "
                    f"direction={message.direction.value} text={message.text!r} "
                    f"sent_at={message.sent_at.isoformat()} tip_cents={message.tip_cents} "
                    f"ppv_price_cents={message.ppv_price_cents} ppv_paid={message.ppv_paid}"
                )
        self._selectors(f"thread {conversation_id}", self._thread_selectors())

    def _fields(self, section: str, rows: list[dict[str, str | None]]) -> None:
        """Say what each field read on the first rows, and name a field that read nothing
        in any row (a problem unless the profile says it may be absent)."""
        part = {
            "inbox": self.profile.inbox,
            "thread": self.profile.thread,
            "purchases": self.profile.purchases,
        }[section]
        assert part is not None
        for name, spec in part.fields.items():
            values = [row.get(name) for row in rows]
            sample = ", ".join(_shown(value) for value in values[: self.rows])
            if rows and all(value is None or not str(value).strip() for value in values):
                where = f"selector {spec.selector or '<the row>'!r}, source {spec.source!r}"
                line = f"{section}.fields.{name}: read nothing in {len(rows)} rows ({where})"
                if spec.may_be_absent:
                    self.report.say(f"  {line}; it may be absent")
                else:
                    self.report.problem(line)
                continue
            self.report.say(f"  {section}.fields.{name}: {sample}")

    def _login_selectors(self) -> list[Check]:
        login = self.profile.login
        return [
            ("login.username", login.username, False),
            ("login.password", login.password, False),
            ("login.submit", login.submit, False),
        ]

    def _inbox_selectors(self) -> list[Check]:
        inbox, login = self.profile.inbox, self.profile.login
        checks = [
            ("login.logged_in", login.logged_in, False),
            ("inbox.item", inbox.item, inbox.empty),
            # A short inbox has no "load more".
            ("inbox.load_more", inbox.load_more, True),
        ]
        if inbox.ready:
            checks.append(("inbox.ready", inbox.ready, False))
        return checks

    def _thread_selectors(self) -> list[Check]:
        thread = self.profile.thread
        checks = [
            ("thread.item", thread.item, thread.empty),
            ("thread.container", thread.container, False),
            ("thread.composer", thread.composer, False),
            ("thread.send", thread.send, False),
            ("thread.throttle_banner", thread.throttle_banner, True),
        ]
        if thread.ready:
            checks.append(("thread.ready", thread.ready, False))
        if thread.price and not thread.steps.before_price:
            # A price box behind a step is revealed by a click this check does not make.
            checks.append(("thread.price", thread.price, False))
        for label, steps in (
            ("before_price", thread.steps.before_price),
            ("before_media", thread.steps.before_media),
        ):
            # The first step of a sequence acts on what is already on the page.
            if steps and steps[0].selector and steps[0].action == "click":
                checks.append((f"thread.steps.{label}[0]", steps[0].selector, False))
        return checks

    def _selectors(self, where: str, checks: list[Check]) -> None:
        shot: Path | None = None
        for name, selector, may_be_absent in checks:
            matched = self._count(selector)
            # A list may be empty when the profile's empty state says so on this page.
            absent_is_fine = (
                self._count(may_be_absent) > 0
                if isinstance(may_be_absent, str)
                else bool(may_be_absent)
            )
            check = SelectorCheck(name, selector, where, matched, absent_is_fine=absent_is_fine)
            if not check.ok:
                if shot is None:
                    shot = self._screenshot(where)
                check = SelectorCheck(name, selector, where, matched, shot)
                self.report.problem(
                    f"{name} {selector!r} matched nothing on {where} (screenshot: {shot})"
                )
            else:
                self.report.say(f"  ok {name} {selector!r}: {matched} on {where}")
            self.report.selectors.append(check)

    def _count(self, selector: str) -> int:
        try:
            return self.page.locator(selector).count()
        except PlaywrightError:
            return 0

    def _screenshot(self, where: str) -> Path:
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{where.replace(' ', '-')}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path.resolve()
