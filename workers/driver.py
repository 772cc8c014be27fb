"""Drives one platform account's web UI, knowing the site only through its browser profile.

Every page load and click first passes `gate` (the account's pacer plus a human dwell);
the send click also passes `send_gate` (the send budget). No platform names live here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime

from loguru import logger
from playwright.sync_api import Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.clock import as_utc, utcnow
from core.enums import Direction
from core.fleet.protocol import ScrapedMessage
from core.platform.profiles import BrowserProfile
from core.platform.timestamps import UnreadableTime, read_time
from core.platform.typing_plan import TypingPlan, comparable_text, plan_typing, seed_for
from workers.errors import LoginFailed, PlatformError, SessionLost, Throttled
from workers.typist import play_plan

_EXTRACT_JS = """
(els, fields) => els.map((el) => {
  const row = {};
  for (const [name, spec] of Object.entries(fields)) {
    const target = spec.selector ? el.querySelector(spec.selector) : el;
    if (!target) { row[name] = null; continue; }
    row[name] = spec.source === "text" ? target.innerText : target.getAttribute(spec.source);
  }
  return row;
})
"""

_MORE_ROWS_OR_LOGGED_OUT_JS = """
([rows, before, loginForm]) =>
  document.querySelectorAll(rows).length > before || !!document.querySelector(loginForm)
"""

# How many times one call may log in again after the platform ended the session.
MAX_RELOGINS = 2

_ACK_OR_BANNER_JS = """
([container, attr, previous, banner, loginForm]) => {
  const box = document.querySelector(container);
  const value = box ? box.getAttribute(attr) : null;
  if (value && value !== previous) return true;
  if (document.querySelector(loginForm)) return true;
  const warn = document.querySelector(banner);
  return !!(warn && warn.offsetParent !== null);
}
"""


# A message whose page printed no time: older than anything, so it never passes for new.
_NO_TIME = datetime.fromtimestamp(0, UTC)


def find_sent_in(messages: Iterable[ScrapedMessage], text: str, since: datetime) -> str | None:
    """Id of the newest outbound message among `messages` that says `text` as the platform
    renders it (`comparable_text` on both sides: line breaks kept, spaces and Unicode
    normalised), sent at or after `since`; None when there is none."""
    wanted = comparable_text(text)
    for message in reversed(list(messages)):
        if (
            message.direction is Direction.outbound
            and comparable_text(message.text) == wanted
            and as_utc(message.sent_at) >= as_utc(since)
        ):
            return message.platform_message_id
    return None


@dataclass(frozen=True)
class InboxRow:
    conversation_id: str
    fan_id: str
    fan_name: str
    last_message_at: datetime | None
    unread: int


def _parse_int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


class PlatformDriver:
    """One account's session on one page."""

    def __init__(
        self,
        page: Page,
        profile: BrowserProfile,
        base_url: str | None,
        gate: Callable[[], None],
        send_gate: Callable[[], None],
        sleep: Callable[[float], None],
        time_scale: float,
        credentials: tuple[str, str],
        unrecorded: Callable[[], AbstractContextManager[None]] = nullcontext,
        timeout_ms: float = 30_000,
    ) -> None:
        self.page = page
        self._credentials = credentials
        self.logins = 0
        self.profile = profile
        self.base_url = base_url
        self._gate = gate
        self._send_gate = send_gate
        self._sleep = sleep
        self._scale = time_scale
        self._unrecorded = unrecorded
        self.throttle_signals = 0
        page.set_default_timeout(timeout_ms)
        page.on("response", self._watch_response)

    def _watch_response(self, response: Response) -> None:
        # The page's own requests (its JSON calls) carry the platform's throttle status.
        if response.status in self.profile.throttle.statuses:
            self.throttle_signals += 1
            logger.bind(status=response.status).warning("platform answered with a throttle status")

    def _goto(self, page_name: str, **params: str) -> None:
        self._gate()
        response = self.page.goto(self.profile.url(page_name, self.base_url, **params))
        if response is not None and response.status in self.profile.throttle.statuses:
            raise Throttled(f"the platform answered {response.status} to a page load")

    def _logged_out(self) -> bool:
        """Wait until the page shows either the logged-in marker or the login form."""
        marker = self.profile.login.logged_in
        form = self.profile.login.username
        self.page.locator(f"{marker}, {form}").first.wait_for(state="attached")
        return self.page.locator(marker).count() == 0

    def _open(self, page_name: str, **params: str) -> None:
        """Navigate to a page; if the platform ended the session (expiry, a login
        elsewhere), log in again with the stored credentials and carry on."""
        self._goto(page_name, **params)
        if not self._logged_out():
            return
        self._login()
        target = self.profile.url(page_name, self.base_url, **params)
        if self.page.url != target:
            self._goto(page_name, **params)
        if self._logged_out():
            raise SessionLost("the platform logged the account out again right after login")

    def _login(self) -> None:
        login = self.profile.login
        username, password = self._credentials
        # Credentials must not end up in a failed job's trace.
        with self._unrecorded():
            for selector, value in ((login.username, username), (login.password, password)):
                self._gate()
                self.page.click(selector)
                self._type_like_a_person(value, seed_for("login", selector, username))
            self._gate()
            self.page.click(login.submit)
            outcome = self.page.locator(f"{login.logged_in}, {login.error}").first
            outcome.wait_for(state="attached")
        if self.page.locator(login.logged_in).count() == 0:
            raise LoginFailed("the platform rejected the account's credentials")
        self.logins += 1
        logger.info("logged in")

    def _type_like_a_person(self, text: str, seed: int) -> None:
        """Type a short field (a login, a price) with the same human model as messages: a
        fixed key delay is exactly what a platform's cadence check looks for."""
        plan = plan_typing(text, self.profile.typing, seed)
        play_plan(
            self.page.keyboard, plan, self.profile.typing.newline_key, self._sleep, self._scale
        )

    def open_inbox(self) -> None:
        """Open the inbox (logging in first when the session is gone)."""
        self._open("inbox")
        self.page.wait_for_selector(self.profile.inbox.ready, state="attached")

    def list_conversations(self) -> list[InboxRow]:
        """Every conversation in the inbox, following "load more" to the end. A session
        that ends while paging is logged in again and the walk starts over."""
        inbox = self.profile.inbox
        items = self.page.locator(inbox.item)
        for _ in range(MAX_RELOGINS + 1):
            self.open_inbox()
            while self.page.locator(inbox.load_more).is_visible():
                before = items.count()
                self._gate()
                self.page.click(inbox.load_more)
                self.page.wait_for_function(
                    _MORE_ROWS_OR_LOGGED_OUT_JS,
                    arg=[inbox.item, before, self.profile.login.username],
                )
                if items.count() <= before:
                    break
            else:
                break
            logger.warning("logged out while paging the inbox; starting over")
        else:
            raise SessionLost("the platform kept ending the session while the inbox was read")
        rows = items.evaluate_all(_EXTRACT_JS, inbox.fields.model_dump())
        return [
            InboxRow(
                conversation_id=row["conversation_id"],
                fan_id=row["fan_id"],
                fan_name=(row["fan_name"] or "").strip(),
                last_message_at=self._read_time(row["last_message_at"], "last_message_at"),
                unread=_parse_int(row["unread"]) or 0,
            )
            for row in rows
        ]

    def open_thread(self, conversation_id: str) -> None:
        """Open a conversation and wait until its messages are rendered."""
        self._open("thread", conversation_id=conversation_id)
        self.page.wait_for_selector(self.profile.thread.ready, state="attached")

    def read_thread(self) -> list[ScrapedMessage]:
        """The messages of the open conversation, oldest first as the page shows them."""
        thread = self.profile.thread
        rows = self.page.locator(thread.item).evaluate_all(_EXTRACT_JS, thread.fields.model_dump())
        messages = []
        for row in rows:
            direction = (
                Direction.inbound
                if row["direction"] == thread.inbound_value
                else Direction.outbound
            )
            paid = row["ppv_paid"]
            messages.append(
                ScrapedMessage(
                    platform_message_id=row["message_id"],
                    direction=direction,
                    text=row["text"] or "",
                    sent_at=self._read_time(row["sent_at"], "sent_at") or _NO_TIME,
                    tip_cents=_parse_int(row["tip_cents"]) or 0,
                    ppv_price_cents=_parse_int(row["ppv_price_cents"]),
                    ppv_paid=None if paid in (None, "") else paid == "true",
                )
            )
        return messages

    def find_sent(self, text: str, since: datetime) -> str | None:
        """Id of an outbound message in the open thread saying `text`, sent at or after
        `since`: how a retried send learns that an earlier attempt got through."""
        return find_sent_in(self.read_thread(), text, since)

    def _read_time(self, value: str | None, field: str) -> datetime | None:
        """A time the page printed, read in the profile's zone; `PlatformError` naming the
        field when it is in no form the fleet reads."""
        try:
            return read_time(value, self.profile.zone, utcnow())
        except UnreadableTime as exc:
            raise PlatformError(f"{field}: {exc}") from exc

    def send(
        self,
        plan: TypingPlan,
        ppv_price_cents: int | None,
        before_submit: Callable[[], None] | None = None,
    ) -> str:
        """Type `plan` into the open thread's composer and send it; return the new
        message's platform id. `before_submit` runs after the send budget is granted and
        just before the click. Raises `Throttled` when the platform refuses the pace."""
        thread = self.profile.thread
        typing = self.profile.typing
        self._gate()
        self.page.click(thread.composer)
        play_plan(self.page.keyboard, plan, typing.newline_key, self._sleep, self._scale)
        if ppv_price_cents is not None:
            self._gate()
            self.page.click(thread.price)
            price = f"{ppv_price_cents // 100}.{ppv_price_cents % 100:02d}"
            self._type_like_a_person(price, seed_for("price", price, plan.seed))
        previous = self.page.get_attribute(thread.container, thread.sent_ack_attr)
        signals_before = self.throttle_signals
        self._send_gate()
        if before_submit is not None:
            before_submit()
        self.page.click(thread.send)
        try:
            self.page.wait_for_function(
                _ACK_OR_BANNER_JS,
                arg=[
                    thread.container,
                    thread.sent_ack_attr,
                    previous,
                    thread.throttle_banner,
                    self.profile.login.username,
                ],
            )
        except PlaywrightTimeout as exc:
            raise PlatformError("the platform neither confirmed nor refused the send") from exc
        if self.page.locator(self.profile.login.username).count() > 0:
            raise SessionLost("the platform ended the session as the message was sent")
        if (
            self.page.locator(thread.throttle_banner).is_visible()
            or self.throttle_signals > signals_before
        ):
            raise Throttled("the platform asked to slow down")
        sent_id = self.page.get_attribute(thread.container, thread.sent_ack_attr)
        if not sent_id:
            raise PlatformError("the platform confirmed a send without a message id")
        return sent_id
