"""Drives one platform account's web UI, knowing the site only through its browser profile.

Every page load, click and declared step first passes `gate` (the account's pacer plus a
human dwell); the send click also passes `send_gate` (the send budget). No platform
names, selectors or formats live here: they are the profile's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatch
from typing import TypeVar

from loguru import logger
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.clock import EARLIEST, as_utc, utcnow
from core.enums import Direction
from core.fleet.protocol import ScrapedMessage
from core.platform.fields import FieldSpec, FieldUnreadable, cents, count, flag, read_row
from core.platform.profiles import BrowserProfile, Step
from core.platform.timestamps import UnreadableTime, read_time
from core.platform.typing_plan import TypingPlan, comparable_text, plan_typing, seed_for
from workers.errors import LoginFailed, PlatformError, SessionLost, Throttled
from workers.timings import Timings
from workers.typist import play_plan

# Raw values only: every transform (regex, map, money, times) is applied in Python, by
# `core.platform.fields`, so a profile reads the same on every page.
_EXTRACT_JS = """
(els, fields) => els.map((el) => {
  const row = {__invalid: []};
  for (const [name, spec] of Object.entries(fields)) {
    let target = el;
    try {
      if (spec.selector) target = el.querySelector(spec.selector);
    } catch (_) {
      row.__invalid.push(name);
      target = null;
    }
    if (!target) { row[name] = null; continue; }
    switch (spec.kind) {
      case "text": row[name] = target.innerText.replace(/\\s+/g, " ").trim(); break;
      case "inner_text": row[name] = target.innerText; break;
      case "text_content": row[name] = target.textContent; break;
      case "value": row[name] = "value" in target ? String(target.value) : null; break;
      case "class": row[name] = target.getAttribute("class") || ""; break;
      default: row[name] = target.getAttribute(spec.attribute);
    }
  }
  return row;
})
"""

_MORE_ROWS_OR_LOGGED_OUT_JS = """
([rows, before, loginForm]) =>
  document.querySelectorAll(rows).length > before || !!document.querySelector(loginForm)
"""

_T = TypeVar("_T")

# How many times one call may log in again after the platform ended the session.
MAX_RELOGINS = 2

# What ends the wait after a send click: the profile's sign of success, the login form
# (the session ended) or a visible throttle banner.
_SENT_OR_REFUSED_JS = """
([mode, container, attr, previous, items, composer, banner, loginForm]) => {
  if (document.querySelector(loginForm)) return true;
  const warn = document.querySelector(banner);
  if (warn && warn.offsetParent !== null) return true;
  if (mode === "attribute") {
    const box = document.querySelector(container);
    const value = box ? box.getAttribute(attr) : null;
    return !!(value && value !== previous);
  }
  if (mode === "composer_empty") {
    const box = document.querySelector(composer);
    const text = box ? ("value" in box ? box.value : box.textContent) : "";
    return !text.trim();
  }
  return document.querySelectorAll(items).length > previous;
}
"""


_TEXT_BOX_JS = """
(el) => el.matches("input:not([type=button]):not([type=submit]):not([type=checkbox]), textarea")
  || el.isContentEditable
"""

# A message whose page printed no time: older than anything, so it never passes for new.
_NO_TIME = EARLIEST


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
    fan_handle: str | None
    last_message_at: datetime | None
    unread: int


def price_text(price_cents: int) -> str:
    """A price as a person types it into a price box: dollars and cents, "12.50"."""
    return f"{price_cents // 100}.{price_cents % 100:02d}"


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
        on_login: Callable[[], None] | None = None,
        timings: Timings | None = None,
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
        self._timeout_ms = timeout_ms
        self._on_login = on_login
        self.timings = timings or Timings()
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
        with self.timings.measure("page_load"):
            # Not "load": the profile's readiness (a marker, rows or an empty state) is what
            # says the page can be read, and waiting for every image first only costs time.
            response = self.page.goto(
                self.profile.url(page_name, self.base_url, **params),
                wait_until="domcontentloaded",
            )
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
        with self.timings.measure("page_load"):
            logged_out = self._logged_out()
        if not logged_out:
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
        if self._on_login is not None:
            self._on_login()

    def _type_like_a_person(self, text: str, seed: int) -> None:
        """Type a short field (a login, a price) with the same human model as messages: a
        fixed key delay is exactly what a platform's cadence check looks for."""
        plan = plan_typing(text, self.profile.typing, seed)
        play_plan(
            self.page.keyboard, plan, self.profile.typing.newline_key, self._sleep, self._scale
        )

    def _wait_ready(self, ready: str | None, item: str, empty: str | None) -> None:
        """Wait until a list is loaded: its `ready` marker, else a first item or the
        declared empty state (an empty inbox or thread is loaded, not late)."""
        if ready is not None:
            self.page.wait_for_selector(ready, state="attached")
            return
        target = f"{item}, {empty}" if empty else item
        self.page.locator(target).first.wait_for(state="attached")

    def field_rows(self, section: str) -> list[dict[str, str | None]]:
        """Every row of the open page's `section` ("inbox", "thread" or "purchases") as its
        fields read it, before typing, with None where a field read nothing: what `fleet
        profile check` shows a person writing a profile."""
        part = {
            "inbox": self.profile.inbox,
            "thread": self.profile.thread,
            "purchases": self.profile.purchases,
        }[section]
        if part is None:
            raise PlatformError(f"the profile declares no {section} page")
        return self._rows(section, part.item, part.fields, strict=False)

    def _rows(
        self, section: str, item: str, specs: dict[str, FieldSpec], strict: bool = True
    ) -> list[dict]:
        """Every `item` on the page read through `specs`; `PlatformError` naming the field
        when a field that must be there is not (unless not `strict`)."""
        browser = {name: spec.browser_spec() for name, spec in specs.items()}
        with self.timings.measure("read"):
            raw_rows = self.page.locator(item).evaluate_all(_EXTRACT_JS, browser)
        rows = []
        for index, raw in enumerate(raw_rows):
            for name in raw.pop("__invalid"):
                # Field selectors run inside each row as CSS, not Playwright's own syntax.
                raise PlatformError(
                    f"{section}.fields.{name}: {specs[name].selector!r} is not a CSS selector"
                )
            row = read_row(raw, specs)
            for name, spec in specs.items():
                if strict and row[name] is None and not spec.may_be_absent:
                    raise PlatformError(
                        f"{section}.fields.{name}: nothing read from row {index + 1} "
                        f"(selector {spec.selector or '<the row>'!r}, source {spec.source!r})"
                    )
            rows.append(row)
        return rows

    def open_inbox(self) -> None:
        """Open the inbox (logging in first when the session is gone)."""
        self._open("inbox")
        inbox = self.profile.inbox
        with self.timings.measure("page_load"):
            self._wait_ready(inbox.ready, inbox.item, inbox.empty)

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
                with self.timings.measure("page_load"):
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
        return [
            InboxRow(
                conversation_id=str(row["conversation_id"]),
                fan_id=str(row["fan_id"]),
                fan_name=(row.get("fan_name") or "").strip(),
                fan_handle=(row.get("handle") or "").strip().removeprefix("@") or None,
                last_message_at=self._read_time(row["last_message_at"], inbox.fields, "inbox"),
                unread=self._typed(count, row.get("unread"), "inbox.fields.unread") or 0,
            )
            for row in self._rows("inbox", inbox.item, inbox.fields)
        ]

    def bought_messages(self) -> list[str]:
        """Platform ids of the PPV messages the purchases page (`urls.purchases`) lists as
        bought; `PlatformError` when the profile declares no such page."""
        purchases = self.profile.purchases
        if purchases is None or self.profile.urls.purchases is None:
            raise PlatformError("the profile declares no purchases page")
        self._open("purchases")
        with self.timings.measure("page_load"):
            self._wait_ready(purchases.ready, purchases.item, purchases.empty)
        return [
            str(row["message_id"])
            for row in self._rows("purchases", purchases.item, purchases.fields)
        ]

    def open_thread(self, conversation_id: str) -> None:
        """Open a conversation and wait until its messages are rendered."""
        loading = self.timings.total("page_load")
        self._open("thread", conversation_id=conversation_id)
        thread = self.profile.thread
        with self.timings.measure("page_load"):
            self._wait_ready(thread.ready, thread.item, thread.empty)
        self.timings.add("thread_load", self.timings.total("page_load") - loading)

    def read_thread(self) -> list[ScrapedMessage]:
        """The messages of the open conversation, oldest first as the page shows them."""
        thread = self.profile.thread
        fields = thread.fields
        messages = []
        for row in self._rows("thread", thread.item, fields):
            direction = row["direction"]
            if direction not in (thread.inbound_value, thread.outbound_value):
                raise PlatformError(
                    f"thread.fields.direction: read {direction!r}, which is neither "
                    f"{thread.inbound_value!r} nor {thread.outbound_value!r}"
                )
            messages.append(
                ScrapedMessage(
                    platform_message_id=str(row["message_id"]),
                    direction=Direction.inbound
                    if direction == thread.inbound_value
                    else Direction.outbound,
                    text=row["text"] or "",
                    sent_at=self._read_time(row["sent_at"], fields, "thread", "sent_at")
                    or _NO_TIME,
                    tip_cents=self._money(row.get("tip_cents"), "tip_cents") or 0,
                    ppv_price_cents=self._money(row.get("ppv_price_cents"), "ppv_price_cents"),
                    ppv_paid=self._typed(flag, row.get("ppv_paid"), "thread.fields.ppv_paid"),
                )
            )
        return messages

    def find_sent(self, text: str, since: datetime) -> str | None:
        """Id of an outbound message in the open thread saying `text`, sent at or after
        `since`: how a retried send learns that an earlier attempt got through."""
        return find_sent_in(self.read_thread(), text, since)

    def _money(self, value: str | None, name: str) -> int | None:
        spec = self.profile.thread.fields.get(name)
        reader = cents if spec is not None and spec.money else count
        return self._typed(reader, value, f"thread.fields.{name}")

    @staticmethod
    def _typed(reader: Callable[[str | None], _T], value: str | None, where: str) -> _T:
        try:
            return reader(value)
        except FieldUnreadable as exc:
            raise PlatformError(f"{where}: {exc}") from exc

    def _read_time(
        self,
        value: str | None,
        fields: dict[str, FieldSpec],
        section: str,
        name: str = "last_message_at",
    ) -> datetime | None:
        """A time the page printed, read in the profile's zone with the field's formats;
        `PlatformError` naming the field when it is in no form the fleet reads."""
        try:
            return read_time(value, self.profile.zone, utcnow(), fields[name].formats)
        except UnreadableTime as exc:
            raise PlatformError(f"{section}.fields.{name}: {exc}") from exc

    def _run_steps(self, steps: Sequence[Step], **params: str) -> None:
        """Play a declared UI sequence, each action paced like any other."""
        for declared in steps:
            step = declared.filled(**params)
            self._gate()
            if step.action == "click":
                self.page.click(step.selector)
            elif step.action == "wait_for":
                self.page.wait_for_selector(step.selector, state="visible")
            elif step.action == "press":
                assert step.key is not None
                if step.selector:
                    self.page.press(step.selector, step.key)
                else:
                    self.page.keyboard.press(step.key)
            elif step.action == "select":
                assert step.value is not None
                self.page.select_option(step.selector, step.value)
            elif step.action == "fill":
                assert step.value is not None
                self.page.fill(step.selector, step.value)
            else:
                assert step.value is not None
                self.page.set_input_files(step.selector, step.value)

    def _attach_media(self, media: Sequence[str]) -> None:
        steps = self.profile.thread.steps
        if not steps.attach_media:
            raise PlatformError("the profile declares no thread.steps.attach_media: no media")
        self._run_steps(steps.before_media)
        for media_id in media:
            self._run_steps(steps.attach_media, media_id=media_id)
        self._run_steps(steps.after_media)

    def _set_price(self, price_cents: int, seed: int) -> None:
        """Reveal and type the PPV price, then read it back: a PPV whose price did not
        land in a price box must never be sent (it would go out free)."""
        thread = self.profile.thread
        if thread.price is None:
            raise PlatformError("the profile declares no thread.price: it cannot send a PPV")
        typed = price_text(price_cents)
        self._run_steps(thread.steps.before_price, price=typed)
        box = self.page.locator(thread.price).first
        box.wait_for(state="visible")
        # A click on what is not a text box (the send button, a "$" toggle) could send the
        # message there and then, free: look before clicking.
        if not box.evaluate(_TEXT_BOX_JS):
            raise PlatformError(
                f"thread.price {thread.price!r} is not a text box: the PPV was not sent"
            )
        self._gate()
        box.click()
        self._type_like_a_person(typed, seed_for("price", typed, seed))
        try:
            shown = self.page.input_value(thread.price)
        except PlaywrightError as exc:
            raise PlatformError(f"thread.price is not a price input: {exc}") from exc
        try:
            landed = cents(shown)
        except FieldUnreadable:
            landed = None
        if landed != price_cents:
            raise PlatformError(f"the price box shows {shown!r}, not {typed}: the PPV was not sent")

    def send(
        self,
        plan: TypingPlan,
        ppv_price_cents: int | None,
        before_submit: Callable[[], None] | None = None,
        media: Sequence[str] = (),
    ) -> str:
        """Type `plan` into the open thread's composer, attach `media` (vault ids) and
        the PPV price, and send it; return the new message's platform id. `before_submit`
        runs after the send budget is granted and just before the click. Raises
        `Throttled` when the platform refuses the pace."""
        thread = self.profile.thread
        confirm = thread.confirm
        self._gate()
        self.page.click(thread.composer)
        newline = self.profile.typing.newline_key
        play_plan(self.page.keyboard, plan, newline, self._sleep, self._scale)
        if media:
            self._attach_media(media)
        if ppv_price_cents is not None:
            self._set_price(ppv_price_cents, plan.seed)
        if confirm.mode == "attribute":
            assert confirm.attribute is not None
            previous: str | int | None = self.page.get_attribute(
                thread.container, confirm.attribute
            )
        else:
            previous = self.page.locator(thread.item).count()
        # Only a confirmation that finds the new message by reading needs what was there.
        known = (
            set()
            if confirm.mode == "attribute"
            else {message.platform_message_id for message in self.read_thread()}
        )
        signals_before = self.throttle_signals
        self._send_gate()
        if before_submit is not None:
            before_submit()
        if confirm.mode == "response":
            assert confirm.url is not None
            pattern = confirm.url
            with self.page.expect_response(
                lambda response: fnmatch(response.url, pattern) and response.request.method != "GET"
            ) as answer:
                self.page.click(thread.send)
            status = answer.value.status
            if status in self.profile.throttle.statuses:
                raise Throttled("the platform asked to slow down")
            if status != confirm.status:
                raise PlatformError(f"the platform answered the send with {status}")
        else:
            self.page.click(thread.send)
            try:
                self.page.wait_for_function(
                    _SENT_OR_REFUSED_JS,
                    arg=[
                        confirm.mode,
                        thread.container,
                        confirm.attribute,
                        previous,
                        thread.item,
                        thread.composer,
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
        if confirm.mode == "attribute":
            assert confirm.attribute is not None
            sent_id = self.page.get_attribute(thread.container, confirm.attribute)
        else:
            sent_id = self._new_outbound(plan.text, known)
        if not sent_id:
            raise PlatformError("the platform confirmed a send without a message id")
        self._run_steps(thread.steps.after_send)
        return sent_id

    def _new_outbound(self, text: str, known: set[str]) -> str | None:
        """The id of the outbound message saying `text` that was not in the thread before
        the send, waiting for the page to render it."""
        wanted = comparable_text(text)
        deadline = time.monotonic() + self._timeout_ms / 1000
        while True:
            for message in reversed(self.read_thread()):
                if (
                    message.platform_message_id not in known
                    and message.direction is Direction.outbound
                    and comparable_text(message.text) == wanted
                ):
                    return message.platform_message_id
            if time.monotonic() >= deadline:
                raise PlatformError("the send was confirmed, but no new message says our text")
            self.page.wait_for_timeout(50)
