"""The console in Debian's Chromium: a person signs in by keyboard alone, sees the queue,
and signs out; the page holds at a phone's width."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from api.console import live
from api.console.auth import SESSION_COOKIE
from core.clock import epoch_ms, utcnow
from core.db import Database
from core.enums import AccountStatus, Role
from core.models import Account, Draft, Send
from core.people import end_session
from core.settings import Settings
from tests.helpers.api import LiveApi
from tests.helpers.console import (
    keys_ready,
    make_user,
    serious_violations,
    sign_in_by_keyboard,
    unusable_at_its_width,
)
from tests.helpers.seeding import Line, seed, seed_dead_letter, seed_draft

# The pages read what the API reads, on either database (`test_console`): one will do.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def console(page: Page, live_api: LiveApi) -> Iterator[Page]:
    """The test's page, closed before the control plane stops: an open page holds an
    event stream, which a stopping server would wait for."""
    yield page
    page.close()


def test_a_person_signs_in_by_keyboard_sees_the_queue_and_signs_out(
    console: Page, live_api: LiveApi, db: Database
) -> None:
    page = console
    seeded = seed(db, [Line("inbound", "are you up?")])
    seed_draft(db, seeded, "Always, for you 💕\nwhat's up?")
    make_user(db)

    sign_in_by_keyboard(page, live_api.url)

    expect(page.get_by_role("heading", name="Approval queue")).to_be_visible()
    cell = page.get_by_role("cell", name="Always, for you 💕")
    expect(cell).to_be_visible()
    # The line break is shown as written.
    assert cell.evaluate("node => node.innerText") == "Always, for you 💕\nwhat's up?"
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{live_api.url}/console/sign-in")
    page.goto(f"{live_api.url}/console")
    expect(page).to_have_url(f"{live_api.url}/console/sign-in")


def test_drafts_are_approved_by_keyboard_alone_one_edited_with_a_line_break_and_an_emoji(
    console: Page, live_api: LiveApi, db: Database
) -> None:
    page = console
    texts = ["First reply", "Second reply", "Third reply"]
    for n, text in enumerate(texts):
        seed_draft(db, seed(db, [Line("inbound", f"message {n}")], fan_name=f"Fan {n}"), text)
    make_user(db)
    sign_in_by_keyboard(page, live_api.url)

    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("^Draft"))).to_be_visible()
    keys_ready(page)
    page.keyboard.press("a")
    # Approved, the next draft opens: edit it, leave the editor, approve.
    expect(page.locator("#text")).to_have_value(texts[1])
    keys_ready(page)
    page.keyboard.press("e")
    page.keyboard.press("Control+A")
    page.keyboard.type("Line one 👩‍👩‍👧\nline two")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator("#text")).to_have_value(texts[2])
    keys_ready(page)
    page.keyboard.press("a")
    expect(page).to_have_url(f"{live_api.url}/console")
    expect(page.get_by_text("No draft is waiting.")).to_be_visible()

    with db.session() as session:
        sent = [send.text for send in session.query(Send).order_by(Send.id)]
    assert sent == ["First reply", "Line one 👩‍👩‍👧\nline two", "Third reply"]


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)], ids=["1280x800", "phone-390"])
def test_each_page_passes_axe_core_and_fits_the_screen(
    console: Page, live_api: LiveApi, db: Database, width: int, height: int
) -> None:
    page = console
    page.set_viewport_size({"width": width, "height": height})
    seed_draft(db, seed(db, [Line("inbound", "hi there")]), "Hey! 💕")
    seed_draft(db, seed(db, [Line("inbound", "hi")]), "let's meet up irl, come over to my place")
    make_user(db)

    def holds(name: str) -> None:
        assert serious_violations(page) == [], name
        assert unusable_at_its_width(page) == [], name

    page.goto(f"{live_api.url}/console/sign-in")
    holds("sign-in")
    sign_in_by_keyboard(page, live_api.url)
    holds("queue")
    page.get_by_role("link", name="Hey! 💕").click()
    expect(page.get_by_role("heading", name=re.compile("^Draft"))).to_be_visible()
    holds("review")
    keys_ready(page)
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keys")).to_be_visible()
    holds("keys dialog")
    page.goto(f"{live_api.url}/console/fleet")
    expect(page.get_by_role("heading", name="Dead letters")).to_be_visible()
    holds("fleet")
    page.goto(f"{live_api.url}/console/drafts/999999")
    expect(page.get_by_role("heading", name="That was not done")).to_be_visible()
    holds("problem")


def test_a_wait_turns_red_when_its_target_passes_with_the_page_open(
    console: Page, live_api: LiveApi, db: Database, settings: Settings
) -> None:
    page = console
    draft_id = seed_draft(db, seed(db, [Line("inbound", "you there?")]), "Right here")
    # Ten real minutes to the account's response target, counted from now.
    with db.session() as session:
        draft = session.get_one(Draft, draft_id)
        draft.wait_since_ms = epoch_ms(utcnow())
        draft.target_ms = math.ceil(600_000 / settings.time_scale)
        session.commit()
    make_user(db)
    sign_in_by_keyboard(page, live_api.url)
    # The page's clock, not the machine's, runs the ten minutes.
    page.clock.install()
    page.reload()
    keys_ready(page)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Right here"))
    mark = row.get_by_text("overdue", exact=True)
    expect(mark).to_be_hidden()
    page.evaluate("window.notReloaded = true")

    page.clock.run_for("10:30")

    expect(mark).to_be_visible()
    expect(row.locator(".wait")).to_have_css("color", "rgb(163, 0, 0)")
    expect(row.locator(".wait")).to_have_text("10 min")
    assert page.evaluate("window.notReloaded") is True


def test_a_new_draft_appears_in_an_open_queue_without_a_reload(
    console: Page, live_api: LiveApi, db: Database
) -> None:
    page = console
    make_user(db)
    sign_in_by_keyboard(page, live_api.url)
    expect(page.get_by_text("No draft is waiting.")).to_be_visible()
    page.evaluate("window.notReloaded = true")

    seed_draft(db, seed(db, [Line("inbound", "still up?")]), "Always for you")

    expect(page.get_by_role("link", name="Always for you")).to_be_visible()
    assert page.evaluate("window.notReloaded") is True


def test_the_fleet_page_follows_the_fleet_live_keeping_what_is_being_typed(
    console: Page, live_api: LiveApi, db: Database
) -> None:
    page = console
    seeded = seed(db, [Line("inbound", "hi")])
    with db.session() as session:
        session.get_one(Account, seeded.account_id).status = AccountStatus.needs_login
        session.commit()
    make_user(db, "ada", Role.admin)
    sign_in_by_keyboard(page, live_api.url, "ada")
    page.goto(f"{live_api.url}/console/fleet")
    password = page.get_by_label("New password")
    password.focus()
    page.keyboard.type("half-typ")
    page.evaluate("window.notReloaded = true")

    seed_dead_letter(db, seeded, "TimeoutError: the thread never rendered")

    expect(page.get_by_role("cell", name="TimeoutError: the thread never rendered")).to_be_visible()
    expect(password).to_have_value("half-typ")
    expect(password).to_be_focused()
    assert page.evaluate("window.notReloaded") is True


def test_an_open_page_whose_session_ends_shows_the_sign_in_page(
    console: Page, live_api: LiveApi, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = console
    # The stream checks its session at every look, not every ten seconds.
    monkeypatch.setattr(live, "SESSION_CHECK_S", live.POLL_S)
    make_user(db)
    sign_in_by_keyboard(page, live_api.url)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == SESSION_COOKIE)

    with db.session() as session:
        end_session(session, token)

    expect(page).to_have_url(f"{live_api.url}/console/sign-in")


@pytest.fixture
def held_by_mia(
    browser: Browser, live_api: LiveApi, db: Database
) -> Iterator[tuple[Page, Page, int]]:
    """Mia's page holding a draft and Sam's on the same draft, seeing it held, each in a
    browser context of its own; and the draft. Mia's claim is made to last: at the tests'
    time scale it would run out in 3 s."""
    draft_id = seed_draft(db, seed(db, [Line("inbound", "hey")]), "Hey you")
    make_user(db, "mia")
    make_user(db, "sam")
    mia = browser.new_context().new_page()
    sam = browser.new_context().new_page()
    try:
        sign_in_by_keyboard(mia, live_api.url, "mia")
        sign_in_by_keyboard(sam, live_api.url, "sam")
        mia.goto(f"{live_api.url}/console/drafts/{draft_id}")
        expect(mia.get_by_role("button", name="Approve")).to_be_visible()
        _claim_runs_out_at(db, draft_id, utcnow() + timedelta(hours=1))
        sam.goto(f"{live_api.url}/console/drafts/{draft_id}")
        expect(sam.get_by_role("status")).to_contain_text(f"draft {draft_id} is claimed by mia")
        expect(sam.get_by_role("button", name="Approve")).to_have_count(0)
        sam.evaluate("window.notReloaded = true")
        yield mia, sam, draft_id
    finally:
        # Before the control plane stops: each page holds an event stream.
        mia.context.close()
        sam.context.close()


def test_a_draft_held_by_one_operator_frees_live_for_another(
    held_by_mia: tuple[Page, Page, int],
) -> None:
    mia, sam, _ = held_by_mia

    mia.get_by_role("button", name="Release it to the queue").click()

    expect(sam.get_by_role("link", name="Take it")).to_be_visible()
    assert sam.evaluate("window.notReloaded") is True
    sam.get_by_role("link", name="Take it").click()
    expect(sam.get_by_role("button", name="Approve")).to_be_visible()


def test_a_claim_that_runs_out_unreleased_frees_the_draft_live(
    held_by_mia: tuple[Page, Page, int], db: Database
) -> None:
    _, sam, draft_id = held_by_mia

    # Mia walks away: her claim runs out, and nothing but the clock says so.
    _claim_runs_out_at(db, draft_id, utcnow())

    expect(sam.get_by_role("link", name="Take it")).to_be_visible()
    assert sam.evaluate("window.notReloaded") is True
    sam.get_by_role("link", name="Take it").click()
    expect(sam.get_by_role("button", name="Approve")).to_be_visible()


def _claim_runs_out_at(db: Database, draft_id: int, when: datetime) -> None:
    with db.session() as session:
        session.get_one(Draft, draft_id).claim_expires_at = when
        session.commit()


def test_an_edit_is_checked_by_the_filter_as_it_is_typed(
    console: Page, live_api: LiveApi, db: Database
) -> None:
    page = console
    draft_id = seed_draft(db, seed(db, [Line("inbound", "hey")]), "Hey you")
    make_user(db)
    sign_in_by_keyboard(page, live_api.url)
    page.goto(f"{live_api.url}/console/drafts/{draft_id}")
    keys_ready(page)
    page.keyboard.press("e")
    page.keyboard.type(" come over to my place")

    expect(page.locator("#check")).to_have_text(
        "The filter would hold this text: meeting. Only an admin may send it past that."
    )


def test_screenshots_of_the_queue_and_the_review_screen(
    console: Page, live_api: LiveApi, db: Database, tmp_path: Path
) -> None:
    """README's pictures: `FLEET_SCREENSHOTS_DIR=docs pytest -k screenshots` remakes them."""
    page = console
    where = Path(os.environ.get("FLEET_SCREENSHOTS_DIR") or tmp_path)
    # No emoji: Debian's Chromium has no colour emoji font unless one is installed.
    talk = [
        ("are you up?", "Always for you, what's keeping you awake?"),
        ("just tipped you $20!", "You're the sweetest, thank you so much"),
        ("can we meet irl sometime", "I keep it all in here, love, right in the app"),
        ("what's new this week?", "New set drops Friday, want a sneak peek?"),
    ]
    for n, (fan_says, reply) in enumerate(talk):
        seeded = seed(
            db,
            [Line("inbound", fan_says)],
            fan_name=f"Fan {n}",
            tags=["vip"],
            start=utcnow() - timedelta(minutes=7 + 20 * n),
        )
        seed_draft(db, seeded, reply, confidence=70 + 5 * n)
    make_user(db)
    page.set_viewport_size({"width": 1280, "height": 800})
    sign_in_by_keyboard(page, live_api.url)
    expect(page.get_by_role("link", name=talk[0][1])).to_be_visible()
    page.screenshot(path=where / "console-queue.png", full_page=True)
    page.get_by_role("link", name=talk[0][1]).click()
    expect(page.get_by_role("button", name="Approve")).to_be_visible()
    page.screenshot(path=where / "console-review.png", full_page=True)

    for name in ("console-queue.png", "console-review.png"):
        assert (where / name).read_bytes().startswith(b"\x89PNG"), name


def test_the_queue_fits_a_phones_width(console: Page, live_api: LiveApi, db: Database) -> None:
    page = console
    seeded = seed(db, [Line("inbound", "hi")])
    seed_draft(db, seeded, "A reply long enough to wrap on a small screen, as real ones do")
    make_user(db)
    page.set_viewport_size({"width": 390, "height": 844})

    sign_in_by_keyboard(page, live_api.url)

    expect(page.get_by_role("heading", name="Approval queue")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
