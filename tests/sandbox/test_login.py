"""Logging in through the real login page in Chromium, and how sessions end."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.helpers.sandbox import Sandbox

pytestmark = pytest.mark.browser

MENU = "[data-testid=account-menu]"


def test_bad_credentials_show_an_error(sandbox: Sandbox, page: Page) -> None:
    sandbox.create_account("alice")
    page.goto(sandbox.login_url)
    page.fill("#username", "alice")
    page.fill("#password", "wrong")
    page.click("#login-submit")
    expect(page.locator("[data-testid=login-error]")).to_contain_text("Wrong username or password")
    expect(page.locator(MENU)).to_have_count(0)
    assert page.context.cookies() == []


def test_login_sets_an_expiring_http_only_cookie(sandbox: Sandbox, page: Page) -> None:
    alice = sandbox.create_account("alice", display_name="Alice Adams")
    sandbox.login(page, alice)
    assert page.url == sandbox.inbox_url
    expect(page.locator(MENU)).to_contain_text("@alice")
    expect(page.locator(MENU).locator("a[href='/logout']")).to_be_visible()
    [cookie] = page.context.cookies()
    assert cookie["name"] == "sbx_session" and cookie["httpOnly"]
    assert cookie["expires"] > time.time() + 86000


def test_login_returns_to_the_requested_page(sandbox: Sandbox, page: Page) -> None:
    alice = sandbox.create_account("alice")
    fan = sandbox.create_fan(alice, "Jane")
    page.goto(sandbox.thread_url(fan))
    assert "/login?next=" in page.url
    page.fill("#username", "alice")
    page.fill("#password", alice.password)
    page.click("#login-submit")
    expect(page.locator("[data-testid=thread][data-loaded=true]")).to_be_attached()
    assert page.url == sandbox.thread_url(fan)


def test_second_login_ends_the_first_session(sandbox: Sandbox, browser: Browser) -> None:
    alice = sandbox.create_account("alice")
    first = browser.new_context().new_page()
    second = browser.new_context().new_page()
    try:
        sandbox.login(first, alice)
        sandbox.login(second, alice)
        first.reload()
        expect(first.locator("#username")).to_be_visible()
        assert first.url == f"{sandbox.login_url}?next=%2Finbox"
        second.reload()
        expect(second.locator(MENU)).to_be_visible()
    finally:
        first.context.close()
        second.context.close()


def test_expired_sessions_go_back_to_login(sandbox: Sandbox, page: Page) -> None:
    alice = sandbox.create_account("alice")
    sandbox.login(page, alice)
    assert sandbox.expire_sessions(alice) == 1
    # Off the inbox first: its own script, finding the session gone, may send the page to
    # the login at the moment this navigation starts, which aborts it.
    page.goto("about:blank")
    page.goto(sandbox.inbox_url)
    expect(page.locator("#login-submit")).to_be_visible()
    expect(page.locator(MENU)).to_have_count(0)


def test_logout(sandbox: Sandbox, page: Page) -> None:
    alice = sandbox.create_account("alice")
    sandbox.login(page, alice)
    page.click(f"{MENU} >> text=Log out")
    expect(page.locator("#login-submit")).to_be_visible()
    page.goto(sandbox.inbox_url)
    expect(page.locator("#login-submit")).to_be_visible()
    assert sandbox.expire_sessions(alice) == 0
