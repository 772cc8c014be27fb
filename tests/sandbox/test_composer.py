"""Sending through the composer in Chromium: typing cadence, flags, pacing, sessions."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.helpers.sandbox import Sandbox, SandboxFan

pytestmark = pytest.mark.browser

READY = "[data-testid=thread][data-loaded=true]"
THREAD = "[data-testid=thread]"
SLOW_DOWN = "[data-testid=slow-down]"
MESSAGE_ID = re.compile(r"^m\d+$")
FAMILY = "👨‍👩‍👧‍👦"
HEART = "❤️"


@pytest.fixture
def jane(sandbox: Sandbox, page: Page) -> SandboxFan:
    """Alice logged in, on her thread with Jane, which has one inbound message."""
    alice = sandbox.create_account("alice")
    fan = sandbox.create_fan(alice, "Jane Doe")
    sandbox.inbound(alice, fan, "hi!")
    sandbox.login(page, alice, sandbox.thread_url(fan))
    page.wait_for_selector(READY)
    return fan


def wait_for_ack(page: Page, previous: str | None = None) -> str:
    """The id the page acknowledged after a send (different from `previous`)."""
    thread = page.locator(THREAD)
    expect(thread).to_have_attribute("data-last-sent-id", MESSAGE_ID)
    if previous is not None:
        expect(thread).not_to_have_attribute("data-last-sent-id", previous)
    message_id = thread.get_attribute("data-last-sent-id")
    assert message_id is not None
    return message_id


def test_typed_message_is_delivered_exactly_and_not_flagged(
    sandbox: Sandbox, page: Page, jane: SandboxFan
) -> None:
    # This test sends twice in quick succession; pacing is another test's subject.
    sandbox.set_guards(min_send_gap_s=0)
    page.click("#composer")
    page.keyboard.type("Hi Jane, ")
    page.keyboard.insert_text(FAMILY)
    page.keyboard.type(" and ")
    page.keyboard.insert_text(HEART)
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("Seee")
    page.keyboard.press("Backspace")
    page.keyboard.type(" you!")
    page.keyboard.press("Enter")

    message_id = wait_for_ack(page)
    expected = f"Hi Jane, {FAMILY} and {HEART}\nSee you!"
    [sent] = sandbox.delivered("alice")
    assert sent.message_id == message_id
    assert sent.text == expected
    assert sent.conversation_id == jane.conversation_id
    assert not sent.flagged and sent.flag_reasons == []
    assert sandbox.flags() == []
    assert sent.ppv_price_cents is None

    types = [event.input_type for event in sent.cadence]
    assert types.count("insertLineBreak") == 1
    assert types.count("deleteContentBackward") == 1
    assert max(event.graphemes for event in sent.cadence) == 1
    times = [event.t_ms for event in sent.cadence]
    assert times == sorted(times)

    bubble = page.locator(f"[data-testid=message][data-message-id='{message_id}']")
    expect(bubble).to_have_attribute("data-direction", "out")
    expect(bubble).to_have_attribute("data-tip-cents", "0")
    expect(bubble).to_have_attribute("data-ppv-price-cents", "")
    assert bubble.locator("[data-testid=message-text]").inner_text() == expected
    expect(page.locator("#composer")).to_have_value("")

    # The next message starts a fresh typing record.
    page.keyboard.type("ok")
    page.keyboard.press("Enter")
    wait_for_ack(page, message_id)
    second = sandbox.delivered("alice")[1]
    assert second.text == "ok" and len(second.cadence) == 2 and not second.flagged


def test_filled_message_is_delivered_but_flagged(
    sandbox: Sandbox, page: Page, jane: SandboxFan
) -> None:
    page.fill("#composer", "Hello from a script")
    page.click("#send-button")
    message_id = wait_for_ack(page)

    [sent] = sandbox.delivered("alice")
    assert sent.text == "Hello from a script"
    assert sent.flagged and sent.flag_reasons == ["burst_input"]
    [flag] = sandbox.flags("alice")
    assert flag.message_id == message_id and flag.reason == "burst_input"
    assert flag.conversation_id == jane.conversation_id
    assert "19 graphemes" in flag.detail


def test_text_set_without_input_events_is_flagged(
    sandbox: Sandbox, page: Page, jane: SandboxFan
) -> None:
    page.eval_on_selector("#composer", "el => { el.value = 'sneaky'; }")
    page.focus("#composer")
    page.keyboard.press("Enter")
    wait_for_ack(page)
    [sent] = sandbox.delivered("alice")
    assert sent.text == "sneaky" and sent.cadence == []
    assert sent.flag_reasons == ["no_input_events"]


def test_text_the_cadence_does_not_account_for_is_flagged(
    sandbox: Sandbox, page: Page, jane: SandboxFan
) -> None:
    page.click("#composer")
    page.keyboard.type("ab")
    page.eval_on_selector("#composer", "el => { el.value = 'abcdef'; }")
    page.keyboard.press("Enter")
    wait_for_ack(page)
    [sent] = sandbox.delivered("alice")
    assert sent.text == "abcdef" and sent.flag_reasons == ["cadence_mismatch"]


def test_sending_too_fast_is_refused_with_a_banner(
    sandbox: Sandbox, page: Page, jane: SandboxFan
) -> None:
    sandbox.set_guards(min_send_gap_s=1000)  # 10 s at the tests' time scale
    page.click("#composer")
    page.keyboard.type("one")
    page.keyboard.press("Enter")
    first = wait_for_ack(page)
    expect(page.locator(SLOW_DOWN)).to_be_hidden()

    page.keyboard.type("two")
    page.keyboard.press("Enter")
    banner = page.locator(SLOW_DOWN)
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Slow down — you're sending messages too quickly")
    expect(page.locator("#composer")).to_have_value("two")
    expect(page.locator(THREAD)).to_have_attribute("data-last-sent-id", first)
    assert [sent.text for sent in sandbox.delivered("alice")] == ["one"]
    [refusal] = sandbox.refusals("alice")
    assert refusal.reason == "min_send_gap" and refusal.conversation_id == jane.conversation_id

    # Once the gap allows it, sending again delivers the kept text with its typing record.
    sandbox.set_guards(min_send_gap_s=0)
    page.keyboard.press("Enter")
    wait_for_ack(page, first)
    expect(banner).to_be_hidden()
    second = sandbox.delivered("alice")[1]
    assert second.text == "two" and not second.flagged


def test_shift_enter_never_sends(sandbox: Sandbox, page: Page, jane: SandboxFan) -> None:
    page.click("#composer")
    page.keyboard.type("line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.press("Shift+Enter")
    expect(page.locator("#composer")).to_have_value("line\n\n")
    assert sandbox.delivered() == []


def test_send_after_the_session_ended_goes_to_login(
    sandbox: Sandbox, page: Page, jane: SandboxFan
) -> None:
    sandbox.expire_sessions("alice")
    page.click("#composer")
    page.keyboard.type("still there?")
    page.keyboard.press("Enter")
    expect(page.locator("#login-submit")).to_be_visible()
    assert page.url.endswith(f"/login?next=%2Fchat%2F{jane.conversation_id}")
    assert sandbox.delivered() == []
