"""The inbox page in Chromium: rows, their attributes, order, and paging."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.sandbox import Sandbox

pytestmark = pytest.mark.browser

READY = "[data-testid=inbox-list][data-loaded=true]"
ROW = "[data-testid=conversation]"
LOAD_MORE = "[data-testid=load-more]"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def test_pages_through_conversations_newest_first(sandbox: Sandbox, page: Page) -> None:
    alice = sandbox.create_account("alice")
    start = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    fans = []
    # Seed out of time order: the inbox orders by the last message's time, not by id.
    for i in (7, 3, 44, 0, *[n for n in range(45) if n not in (7, 3, 44, 0)]):
        fan = sandbox.create_fan(alice, f"Fan {i:02d}")
        sandbox.inbound(alice, fan, f"hello from fan {i}", sent_at=start + timedelta(minutes=i))
        fans.append((i, fan))
    newest_first = [fan for _, fan in sorted(fans, key=lambda pair: -pair[0])]

    sandbox.login(page, alice)
    page.wait_for_selector(READY)
    rows = page.locator(ROW)
    expect(rows).to_have_count(20)
    expect(page.locator(LOAD_MORE)).to_be_visible()
    page.click(LOAD_MORE)
    expect(rows).to_have_count(40)
    expect(page.locator(LOAD_MORE)).to_be_visible()
    page.click(LOAD_MORE)
    expect(rows).to_have_count(45)
    expect(page.locator(LOAD_MORE)).to_be_hidden()

    listed = rows.evaluate_all(
        "rows => rows.map(r => [r.dataset.conversationId, r.dataset.fanId, r.dataset.lastAt])"
    )
    assert [row[0] for row in listed] == [fan.conversation_id for fan in newest_first]
    assert [row[1] for row in listed] == [fan.fan_id for fan in newest_first]
    assert all(ISO_UTC.match(row[2]) for row in listed)
    assert listed[0][2] == (start + timedelta(minutes=44)).isoformat(timespec="microseconds")

    top = rows.first
    expect(top.locator("[data-testid=fan-name]")).to_have_text("Fan 44")
    expect(top.locator("[data-testid=preview]")).to_have_text("hello from fan 44")
    expect(top).to_have_attribute("data-unread", "1")


def test_row_shows_latest_message_and_unread_count(sandbox: Sandbox, page: Page) -> None:
    alice = sandbox.create_account("alice")
    old, new = sandbox.create_fan(alice, "Old Timer"), sandbox.create_fan(alice, "Newbie")
    sandbox.inbound(alice, old, "first")
    sandbox.inbound(alice, old, "second")
    sandbox.tip(alice, old, 500)
    # A back-dated message is older than the conversation's latest and changes nothing.
    sandbox.inbound(alice, old, "ancient", sent_at=datetime(2020, 1, 1, tzinfo=UTC))

    sandbox.login(page, alice)
    page.wait_for_selector(READY)
    rows = page.locator(ROW)
    expect(rows).to_have_count(2)
    # An empty conversation lists by when it started; the tip is newer.
    expect(rows.nth(0)).to_have_attribute("data-conversation-id", old.conversation_id)
    expect(rows.nth(0)).to_have_attribute("data-unread", "4")
    expect(rows.nth(0).locator("[data-testid=preview]")).to_have_text("Sent a $5.00 tip")
    expect(rows.nth(1)).to_have_attribute("data-conversation-id", new.conversation_id)
    expect(rows.nth(1)).to_have_attribute("data-unread", "0")
    expect(page.locator(LOAD_MORE)).to_be_hidden()

    # Opening the thread reads it.
    rows.nth(0).click()
    page.wait_for_selector("[data-testid=thread][data-loaded=true]")
    page.goto(sandbox.inbox_url)
    page.wait_for_selector(READY)
    expect(page.locator(ROW).first).to_have_attribute("data-unread", "0")


def test_empty_inbox_is_loaded_without_load_more(sandbox: Sandbox, page: Page) -> None:
    sandbox.login(page, sandbox.create_account("alice"))
    page.wait_for_selector(READY)
    expect(page.locator(ROW)).to_have_count(0)
    expect(page.locator("[data-testid=inbox-empty]")).to_be_visible()
    expect(page.locator(LOAD_MORE)).to_be_hidden()
