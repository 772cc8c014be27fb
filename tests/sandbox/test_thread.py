"""The chat page in Chromium: messages, tips and PPV as the driver reads them."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.sandbox import Sandbox

pytestmark = pytest.mark.browser

READY = "[data-testid=thread][data-loaded=true]"
MESSAGE = "[data-testid=message]"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$")


def attributes(page: Page) -> list[dict[str, str]]:
    return page.locator(MESSAGE).evaluate_all(
        "items => items.map(m => ({id: m.dataset.messageId, direction: m.dataset.direction,"
        " sentAt: m.dataset.sentAt, tip: m.dataset.tipCents, price: m.dataset.ppvPriceCents,"
        " paid: m.dataset.ppvPaid}))"
    )


def test_thread_renders_messages_tips_and_ppv(sandbox: Sandbox, page: Page) -> None:
    alice = sandbox.create_account("alice")
    jane = sandbox.create_fan(alice, "Jane Doe")
    at = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    hello = sandbox.inbound(alice, jane, "Hey you\n  second line", sent_at=at)
    tip = sandbox.tip(alice, jane, 500, "for the last set")
    bare_tip = sandbox.tip(alice, jane, 250)

    sandbox.login(page, alice)
    page.goto(sandbox.thread_url(jane))
    page.wait_for_selector(READY)
    messages = page.locator(MESSAGE)
    expect(messages).to_have_count(3)
    rows = attributes(page)
    assert [row["id"] for row in rows] == [hello.message_id, tip.message_id, bare_tip.message_id]
    assert rows[0] == {
        "id": hello.message_id,
        "direction": "in",
        "sentAt": "2026-03-01T09:30:15.123456+00:00",
        "tip": "0",
        "price": "",
        "paid": "",
    }
    assert [row["tip"] for row in rows] == ["0", "500", "250"]
    assert all(ISO_UTC.match(row["sentAt"]) for row in rows)
    texts = messages.locator("[data-testid=message-text]")
    assert texts.nth(0).inner_text() == "Hey you\n  second line"
    assert texts.nth(1).inner_text() == "for the last set"
    assert texts.nth(2).inner_text() == ""
    expect(page.locator("#composer")).to_be_visible()
    expect(page.locator("#ppv-price")).to_be_visible()
    expect(page.locator("#send-button")).to_be_visible()
    expect(page.locator("[data-testid=account-menu]")).to_be_visible()

    # A PPV message from the creator: price in dollars, stored in cents, unpaid.
    page.click("#composer")
    page.keyboard.type("Exclusive set")
    page.click("#ppv-price")
    page.keyboard.type("12.50")
    page.click("#send-button")
    thread = page.locator("[data-testid=thread]")
    expect(thread).to_have_attribute("data-last-sent-id", re.compile(r"^m\d+$"))
    ppv_id = thread.get_attribute("data-last-sent-id")
    sent = page.locator(f"{MESSAGE}[data-message-id='{ppv_id}']")
    expect(sent).to_have_attribute("data-direction", "out")
    expect(sent).to_have_attribute("data-ppv-price-cents", "1250")
    expect(sent).to_have_attribute("data-ppv-paid", "false")
    expect(page.locator("#ppv-price")).to_have_value("")
    [delivered] = sandbox.delivered(alice)
    assert delivered.ppv_price_cents == 1250 and delivered.ppv_paid is False
    assert delivered.fan_id == jane.fan_id and delivered.conversation_id == jane.conversation_id

    assert ppv_id is not None
    sandbox.purchase(ppv_id)
    page.reload()
    page.wait_for_selector(READY)
    expect(page.locator(f"{MESSAGE}[data-message-id='{ppv_id}']")).to_have_attribute(
        "data-ppv-paid", "true"
    )
    assert sandbox.request("POST", f"/_control/messages/{ppv_id}/purchase").status_code == 409


def test_unknown_conversation_is_a_404_page(sandbox: Sandbox, page: Page) -> None:
    sandbox.login(page, sandbox.create_account("alice"))
    response = page.goto(sandbox.thread_url("c999999"))
    assert response is not None and response.status == 404
    expect(page.get_by_text("Conversation not found")).to_be_visible()
