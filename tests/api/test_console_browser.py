"""The console in Debian's Chromium: a person signs in by keyboard alone, sees the queue,
and signs out; the page holds at a phone's width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from core.db import Database
from core.models import Send
from tests.helpers.api import LiveApi
from tests.helpers.console import PASSWORD, make_user, serious_violations
from tests.helpers.seeding import Line, seed, seed_draft

# The pages read what the API reads, on either database (`test_console`): one will do.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


def _sign_in_by_keyboard(page: Page, url: str) -> None:
    page.goto(f"{url}/console")
    expect(page).to_have_url(f"{url}/console/sign-in")
    # The name field has the focus; Tab reaches the password, Enter submits.
    page.keyboard.type("mia")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{url}/console")


def test_a_person_signs_in_by_keyboard_sees_the_queue_and_signs_out(
    page: Page, live_api: LiveApi, db: Database
) -> None:
    seeded = seed(db, [Line("inbound", "are you up?")])
    seed_draft(db, seeded, "Always, for you 💕\nwhat's up?")
    make_user(db)

    _sign_in_by_keyboard(page, live_api.url)

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
    page: Page, live_api: LiveApi, db: Database
) -> None:
    texts = ["First reply", "Second reply", "Third reply"]
    for n, text in enumerate(texts):
        seed_draft(db, seed(db, [Line("inbound", f"message {n}")], fan_name=f"Fan {n}"), text)
    make_user(db)
    _sign_in_by_keyboard(page, live_api.url)

    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile("^Draft"))).to_be_visible()
    page.keyboard.press("a")
    # Approved, the next draft opens: edit it, leave the editor, approve.
    expect(page.locator("#text")).to_have_value(texts[1])
    page.keyboard.press("e")
    page.keyboard.press("Control+A")
    page.keyboard.type("Line one 👩‍👩‍👧\nline two")
    page.keyboard.press("Escape")
    page.keyboard.press("a")
    expect(page.locator("#text")).to_have_value(texts[2])
    page.keyboard.press("a")
    expect(page).to_have_url(f"{live_api.url}/console")
    expect(page.get_by_text("No draft is waiting.")).to_be_visible()

    with db.session() as session:
        sent = [send.text for send in session.query(Send).order_by(Send.id)]
    assert sent == ["First reply", "Line one 👩‍👩‍👧\nline two", "Third reply"]


def test_each_page_passes_axe_core_with_no_serious_violation(
    page: Page, live_api: LiveApi, db: Database
) -> None:
    seed_draft(db, seed(db, [Line("inbound", "hi there")]), "Hey! 💕")
    seed_draft(db, seed(db, [Line("inbound", "hi")]), "let's meet up irl, come over to my place")
    make_user(db)
    page.goto(f"{live_api.url}/console/sign-in")
    assert serious_violations(page) == [], "sign-in"
    _sign_in_by_keyboard(page, live_api.url)
    assert serious_violations(page) == [], "queue"
    page.get_by_role("link", name="Hey! 💕").click()
    expect(page.get_by_role("heading", name=re.compile("^Draft"))).to_be_visible()
    assert serious_violations(page) == [], "review"
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keys")).to_be_visible()
    assert serious_violations(page) == [], "keys dialog"


def test_the_queue_fits_a_phones_width(page: Page, live_api: LiveApi, db: Database) -> None:
    seeded = seed(db, [Line("inbound", "hi")])
    seed_draft(db, seeded, "A reply long enough to wrap on a small screen, as real ones do")
    make_user(db)
    page.set_viewport_size({"width": 390, "height": 844})

    _sign_in_by_keyboard(page, live_api.url)

    expect(page.get_by_role("heading", name="Approval queue")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page is {overflow}px wider than the phone"
