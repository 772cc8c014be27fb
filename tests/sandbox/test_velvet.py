"""Velvet, the second platform: the same inbox as fanbox, shown the way many real sites
show it. Each difference a profile has to cope with is here, as a browser sees it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from sandbox.server import BackgroundServer
from tests.helpers.sandbox import Sandbox, SandboxAccount

pytestmark = pytest.mark.browser


@pytest.fixture
def velvet(velvet_server: BackgroundServer) -> Iterator[Sandbox]:
    with httpx.Client(base_url=velvet_server.url, timeout=10) as client:
        handle = Sandbox(velvet_server.url, client)
        handle.reset()
        yield handle


def _sign_in(velvet: Sandbox, email: str, password: str) -> httpx.Response:
    with httpx.Client(base_url=velvet.url) as client:
        form = {"email": email, "password": password, "next": "/messages"}
        return client.post("/signin", data=form)


def test_an_account_signs_in_with_its_email_not_its_username(velvet: Sandbox) -> None:
    alice = velvet.create_account("alice")
    assert alice.login == "alice@creators.velvet.test"
    assert _sign_in(velvet, alice.login, alice.password).status_code == 303
    assert _sign_in(velvet, "alice", alice.password).status_code == 400
    wrong = _sign_in(velvet, alice.login, "nope")
    assert wrong.status_code == 401
    assert "don&#x27;t match an account" in wrong.text


def test_pages_send_a_signed_out_browser_to_sign_in(velvet: Sandbox) -> None:
    with httpx.Client(base_url=velvet.url) as client:
        answer = client.get("/messages/c1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/signin?next=%2Fmessages%2Fc1"


def _open(velvet: Sandbox, page: Page, account: SandboxAccount, url: str) -> None:
    velvet.login(page, account, url)


def test_the_list_shows_relative_times_handles_and_no_fan_id_or_loaded_marker(
    velvet: Sandbox, page: Page
) -> None:
    alice = velvet.create_account("alice")
    jane = velvet.create_fan(alice, "Jane")
    sent = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    velvet.inbound(alice, jane, "older", sent)
    velvet.inbound(alice, velvet.create_fan(alice, "Now"), "just now")
    _open(velvet, page, alice, velvet.inbox_url)
    rows = page.locator("a.vv-thread")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("time")).to_have_text("just now")
    # Local to the platform (Tokyo, UTC+9), with no offset.
    expect(rows.nth(1).locator("time")).to_have_attribute("title", "2026-01-02 12:04:05.678")
    expect(rows.nth(1).locator(".vv-handle")).to_have_text(f"@{jane.fan_id}")
    assert page.locator("[data-fan-id], [data-loaded]").count() == 0


def test_an_empty_list_shows_its_empty_state(velvet: Sandbox, page: Page) -> None:
    alice = velvet.create_account("alice")
    _open(velvet, page, alice, velvet.inbox_url)
    expect(page.locator(".vv-empty")).to_be_visible()


def test_money_is_text_and_direction_a_class(velvet: Sandbox, page: Page) -> None:
    alice = velvet.create_account("alice")
    jane = velvet.create_fan(alice, "Jane")
    velvet.tip(alice, jane, 123456, "for you", datetime.now(UTC) - timedelta(minutes=2))
    offer = velvet.offer(alice, jane, "a set", 1250)
    _open(velvet, page, alice, velvet.thread_url(jane))
    tip, ppv = page.locator(".vv-msg").nth(0), page.locator(".vv-msg").nth(1)
    expect(tip).to_have_class("vv-msg vv-msg--in")
    expect(tip.locator(".vv-tip")).to_have_text("Tipped $1,234.56")
    expect(ppv).to_have_class("vv-msg vv-msg--out")
    expect(ppv.locator(".vv-lock")).to_have_text("Unlock for $12.50")
    assert page.locator("[data-direction], [data-tip-cents]").count() == 0

    velvet.purchase(offer.message_id)
    _open(velvet, page, alice, f"{velvet.url}/earnings")
    expect(page.locator("tr.vv-sale .vv-amount")).to_have_text("$12.50")


def test_the_price_box_appears_only_after_the_dollar_button(velvet: Sandbox, page: Page) -> None:
    alice = velvet.create_account("alice")
    jane = velvet.create_fan(alice, "Jane")
    _open(velvet, page, alice, velvet.thread_url(jane))
    price = page.locator("input[name=price]")
    expect(price).to_be_hidden()
    page.click(".vv-price-toggle")
    expect(price).to_be_visible()
