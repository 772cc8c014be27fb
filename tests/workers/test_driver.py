"""The platform driver on each bundled platform, in real Chromium, with the pacer out of
the way: every way a profile can confirm a send works, an empty list is loaded rather than
late, and a PPV whose price has nowhere to go is never sent."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from core.platform.profiles import BrowserProfile, SendConfirmation
from core.platform.typing_plan import plan_typing
from tests.helpers.sandbox import Sandbox, SandboxAccount
from workers.driver import PlatformDriver
from workers.errors import PlatformError

pytestmark = pytest.mark.browser


def _driver(
    page: Page,
    sandbox: Sandbox,
    account: SandboxAccount,
    profile: BrowserProfile,
    timeout_ms: float = 15_000,
) -> PlatformDriver:
    return PlatformDriver(
        page,
        profile,
        sandbox.url,
        gate=lambda: None,
        send_gate=lambda: None,
        sleep=lambda _s: None,
        time_scale=0.0,
        credentials=(account.login, account.password),
        timeout_ms=timeout_ms,
    )


def _confirmed_by(profile: BrowserProfile, confirm: SendConfirmation) -> BrowserProfile:
    thread = profile.thread.model_copy(update={"confirm": confirm})
    return profile.model_copy(update={"thread": thread})


@pytest.mark.parametrize(
    "confirm",
    [
        SendConfirmation(mode="new_item"),
        SendConfirmation(mode="composer_empty"),
        SendConfirmation(mode="response", url="**/api/conversations/*/messages", status=201),
    ],
    ids=lambda confirm: confirm.mode,
)
def test_each_confirmation_mode_returns_the_new_messages_id(
    sandbox: Sandbox, page: Page, confirm: SendConfirmation
) -> None:
    account = sandbox.create_account("confirms")
    fan = sandbox.create_fan(account, "Jane")
    sandbox.inbound(account, fan, "hi")
    driver = _driver(page, sandbox, account, _confirmed_by(sandbox.profile, confirm))
    driver.open_thread(fan.conversation_id)

    sent = driver.send(plan_typing("two\nlines", sandbox.profile.typing, seed=3), None)

    [delivered] = sandbox.delivered(account)
    assert (sent, delivered.text) == (delivered.message_id, "two\nlines")


def test_an_empty_inbox_and_an_empty_thread_are_loaded_not_late(
    sandbox: Sandbox, page: Page
) -> None:
    account = sandbox.create_account("nobody")
    driver = _driver(page, sandbox, account, sandbox.profile)
    assert driver.list_conversations() == []
    fan = sandbox.create_fan(account, "Silent")
    driver.open_thread(fan.conversation_id)
    assert driver.read_thread() == []


def test_a_price_pointed_at_the_send_button_sends_nothing(sandbox: Sandbox, page: Page) -> None:
    # The failure: a profile whose price selector is not the price box. Clicking it
    # would send the message, free.
    profile = sandbox.profile
    steps = profile.thread.steps.model_copy(update={"before_price": ()})
    thread = profile.thread.model_copy(update={"price": profile.thread.send, "steps": steps})
    broken = profile.model_copy(update={"thread": thread})
    account = sandbox.create_account("freebie")
    fan = sandbox.create_fan(account, "Jane")
    sandbox.inbound(account, fan, "hi")
    driver = _driver(page, sandbox, account, broken)
    driver.open_thread(fan.conversation_id)

    with pytest.raises(PlatformError, match="is not a text box: the PPV was not sent"):
        driver.send(plan_typing("a paid post", profile.typing, seed=4), 1250)

    assert sandbox.delivered(account) == []


def test_media_the_vault_lacks_fails_the_send_before_it_goes(sandbox: Sandbox, page: Page) -> None:
    account = sandbox.create_account("novault")
    sandbox.add_media(account, "The only set")
    fan = sandbox.create_fan(account, "Jane")
    sandbox.inbound(account, fan, "hi")
    # The item never appears: a short wait is all it needs to fail.
    driver = _driver(page, sandbox, account, sandbox.profile, timeout_ms=2_000)
    driver.open_thread(fan.conversation_id)

    with pytest.raises(PlaywrightTimeout, match="vault-id='v404'"):
        driver.send(
            plan_typing("see attached", sandbox.profile.typing, seed=5), 900, media=["v404"]
        )

    assert sandbox.delivered(account) == []
