"""The typing executor against the real sandbox in real Chromium: every grapheme arrives
intact, line breaks do not send early, and the platform sees a typed (unflagged) message."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from core.platform.typing_plan import graphemes, plan_typing
from tests.helpers.sandbox import Sandbox
from workers.typist import play_plan

pytestmark = pytest.mark.browser

TEXT = "Hey Sam! 😊 Family pics 👨‍👩‍👧‍👦 ❤️\nTalk soon 🇫🇷 — café"


def test_emoji_zwj_and_line_break_arrive_as_one_exact_message(sandbox: Sandbox, page: Page) -> None:
    account = sandbox.create_account("typist")
    fan = sandbox.create_fan(account, "Sam")
    sandbox.inbound(account, fan, "hi")
    profile = sandbox.profile
    sandbox.login(page, account, sandbox.thread_url(fan))
    page.locator(profile.thread.composer).wait_for()
    page.click(profile.thread.composer)
    plan = plan_typing(TEXT, profile.typing, seed=7)

    play_plan(page.keyboard, plan, profile.typing.newline_key, lambda _s: None, 0.0)
    assert sandbox.delivered(account) == [], "a line break sent the message early"
    page.click(profile.thread.send)
    sandbox.until_delivered(account)

    [sent] = sandbox.delivered(account)
    assert sent.text == TEXT
    assert not sent.flagged, sent.flag_reasons
    assert sum(event.graphemes for event in sent.cadence) == len(graphemes(TEXT))
