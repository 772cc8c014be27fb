"""The console end to end: an operator approves twenty drafts by keyboard alone, one of
them edited with a line break and an emoji, and the sandbox receives each exactly once."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from playwright.sync_api import Page, expect

from core.db import Database
from tests.helpers.console import keys_ready, make_user, sign_in_by_keyboard
from tests.helpers.fleet import Fleet

FANS = 20
EDITED = "Right here 👩‍👩‍👧 give me a minute\nthen I'm all yours"


# Typing each send into each bundled platform is `test_loop`'s; what is tested here is
# the console's keyboard path to the worker, once.
@pytest.mark.mechanics
def test_twenty_drafts_approved_by_keyboard_reach_the_sandbox_once_each(
    fleet: Fleet, page: Page
) -> None:
    account = fleet.sandbox.create_account("console")
    for index in range(FANS):
        fan = fleet.sandbox.create_fan(account, f"Fan {index}")
        fleet.sandbox.inbound(account, fan, f"hey it's fan {index}")
    account_id = fleet.register(account)
    fleet.sweep(account_id)
    fleet.run_browser_worker()
    fleet.run_ai_worker()
    assert len(fleet.get("/v1/drafts", limit=100)["items"]) == FANS
    database = Database(fleet.settings.database_url)
    make_user(database)
    database.dispose()

    url = fleet.api.url
    sign_in_by_keyboard(page, url)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    for n in range(FANS):
        expect(page.locator("#approve")).to_be_visible()
        keys_ready(page)
        if n == FANS // 2:
            page.keyboard.press("e")
            page.keyboard.press("Control+A")
            page.keyboard.type(EDITED)
            page.keyboard.press("Escape")
        opened = page.url
        page.keyboard.press("a")
        expect(page).not_to_have_url(re.compile(re.escape(opened) + "$"))
    expect(page).to_have_url(f"{url}/console")
    expect(page.get_by_text("No draft is waiting.")).to_be_visible()
    page.close()

    fleet.run_browser_worker()

    delivered = fleet.sandbox.delivered(account)
    assert len(delivered) == FANS
    assert Counter(message.fan_id for message in delivered).most_common(1)[0][1] == 1
    assert [m.text for m in delivered].count(EDITED) == 1
    assert fleet.sandbox.refusals(account) == []
