"""The cadence guards: too fast (per human second) and too regular (coefficient of variation
of key intervals) are flagged; the fleet's own plans, typos and all, are not.

The judging rules are checked on records built by hand; the fleet's plans at time scale 1.0
as the sandbox would record them if played exactly on time; and, in Chromium, the real
typist at the tests' time scale against scripts typing with a fixed delay or none, their
keys timed by Playwright's clock so the machine's load cannot blur them.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from playwright.sync_api import Page, expect

from bench.typing import CORPUS, measure
from core.platform.profiles import load_profile
from core.platform.typing_plan import graphemes, plan_typing, seed_for
from sandbox.cadence import CadenceEvent, assess
from sandbox.config import SandboxConfig
from sandbox.guards import Guards
from tests.helpers.sandbox import Sandbox, SandboxFan
from workers.typist import play_plan

PROFILE = load_profile(Path("browser_profiles/sandbox.toml"))
THREAD = "[data-testid=thread]"
MESSAGE_ID = re.compile(r"^m\d+$")
# Irregular enough to pass the regularity check: intervals cycle through these multiples.
UNEVEN = (0.4, 1.9, 0.7, 1.2, 0.5, 1.6, 0.8, 0.9)


def guards(time_scale: float) -> Guards:
    """The default guards of a sandbox running at `time_scale`."""
    return Guards.from_config(SandboxConfig(db_path=Path("unused.db"), time_scale=time_scale))


def record(intervals_ms: list[float], deletes: frozenset[int] = frozenset()) -> list[CadenceEvent]:
    """Input events at 0 ms and after each interval; events whose index is in `deletes`
    are Backspaces."""
    times = [0.0]
    for interval in intervals_ms:
        times.append(times[-1] + interval)
    return [
        CadenceEvent(
            t_ms=t,
            graphemes=0 if i in deletes else 1,
            input_type="deleteContentBackward" if i in deletes else "insertText",
        )
        for i, t in enumerate(times)
    ]


def reasons(text: str, cadence: list[CadenceEvent], judge: Guards) -> list[str]:
    return [flag.reason for flag in assess(text, cadence, judge)]


def test_uneven_typing_at_a_human_pace_is_not_flagged() -> None:
    intervals = [250 * UNEVEN[i % len(UNEVEN)] for i in range(30)]
    assert reasons("x" * 31, record(intervals), guards(1.0)) == []


def test_fixed_intervals_are_flagged_as_too_regular() -> None:
    [flag] = assess("x" * 31, record([120.0] * 30), guards(1.0))
    assert flag.reason == "too_regular"
    assert "0.000 of their mean over 30 intervals" in flag.detail


def test_speed_is_judged_per_human_second() -> None:
    # 40 ms apart on average (4 cycles of UNEVEN): 25 keystrokes a real second.
    intervals = [40 * UNEVEN[i % len(UNEVEN)] for i in range(32)]
    cadence = record(intervals)
    # At 1.0 that is 25 a human second: too fast for a person.
    [flag] = assess("x" * 33, cadence, guards(1.0))
    assert flag.reason == "too_fast" and "25.0 keystrokes per second" in flag.detail
    # At 0.1 a worker waits a tenth of each human delay: the same record is 2.5 a second.
    assert reasons("x" * 33, cadence, guards(0.1)) == []
    # At 0.01, 1500 real keystrokes a second are the limit.
    fast = record([0.5 * UNEVEN[i % len(UNEVEN)] for i in range(32)])
    assert reasons("x" * 33, fast, guards(0.01)) == ["too_fast"]


def test_short_messages_are_not_judged_for_rhythm() -> None:
    judge = guards(1.0)
    few = record([1.0] * (judge.min_intervals - 1))
    assert reasons("x" * judge.min_intervals, few, judge) == []
    enough = record([1.0] * judge.min_intervals)
    assert reasons("x" * (judge.min_intervals + 1), enough, judge) == ["too_fast", "too_regular"]


def test_backspaces_are_keystrokes_and_no_mismatch() -> None:
    # Three slips, each a wrong key and a Backspace, on the way to the right text.
    text = "the quick brown fox"
    typed = len(graphemes(text)) + 3
    deletes = frozenset({5, 11, 17})
    intervals = [220 * UNEVEN[i % len(UNEVEN)] for i in range(typed + len(deletes) - 1)]
    assert reasons(text, record(intervals, deletes), guards(1.0)) == []


@settings(max_examples=200, deadline=None)
@given(exchange=st.sampled_from(CORPUS), seed=st.integers(0, 2**64 - 1))
def test_the_fleets_plans_are_not_flagged_at_full_scale(exchange, seed: int) -> None:
    plan = plan_typing(
        exchange.reply, PROFILE.typing, seed, inbound_chars=len(graphemes(exchange.inbound))
    )
    assert measure(plan, guards(1.0)).flags == ()


@pytest.fixture
def composer(sandbox: Sandbox, page: Page) -> SandboxFan:
    """Alice logged in on her thread with Jane, the composer focused."""
    alice = sandbox.create_account("alice")
    fan = sandbox.create_fan(alice, "Jane")
    sandbox.inbound(alice, fan, "hi!")
    sandbox.login(page, alice, sandbox.thread_url(fan))
    page.wait_for_selector(PROFILE.thread.ready or PROFILE.thread.item)
    page.click(PROFILE.thread.composer)
    return fan


def send_and_wait(page: Page, sandbox: Sandbox, count: int) -> None:
    """Press Enter and wait until the page acknowledges the account's `count`-th message."""
    previous = page.get_attribute(THREAD, "data-last-sent-id")
    page.keyboard.press("Enter")
    thread = page.locator(THREAD)
    expect(thread).to_have_attribute("data-last-sent-id", MESSAGE_ID)
    if previous is not None:
        expect(thread).not_to_have_attribute("data-last-sent-id", previous)
    assert len(sandbox.delivered("alice")) == count


@pytest.mark.browser
def test_the_typist_playing_real_plans_is_never_flagged(
    sandbox: Sandbox, page: Page, composer: SandboxFan
) -> None:
    time_scale = sandbox.guards()["time_scale"]
    # More slips than the default, so Backspaces are surely part of the record.
    typing = PROFILE.typing.model_copy(update={"typo_rate": 0.1})
    plans = [
        plan_typing(
            exchange.reply,
            typing,
            seed_for("send", i, 1),
            inbound_chars=len(graphemes(exchange.inbound)),
        )
        for i, exchange in enumerate(CORPUS)
    ]
    assert sum(plan.corrections for plan in plans) >= 10
    for count, plan in enumerate(plans, start=1):
        play_plan(page.keyboard, plan, typing.newline_key, time.sleep, time_scale)
        send_and_wait(page, sandbox, count)

    delivered = sandbox.delivered("alice")
    assert [message.text for message in delivered] == [exchange.reply for exchange in CORPUS]
    assert sandbox.flags() == [], [(flag.reason, flag.detail) for flag in sandbox.flags()]
    backspaces = sum(
        event.input_type == "deleteContentBackward"
        for message in delivered
        for event in message.cadence
    )
    assert backspaces == sum(plan.corrections for plan in plans)
    judged = [m for m in delivered if len(m.cadence) > sandbox.guards()["min_intervals"]]
    assert len(judged) >= len(CORPUS) // 2
    assert sandbox.refusals() == []


BOT_TEXT = "Hey babe, thanks so much for the tip! New set drops tomorrow night"
BOT_SHORT = "Thanks so much babe"


@pytest.mark.browser
def test_a_script_with_a_fixed_delay_is_flagged_as_too_regular(
    sandbox: Sandbox, page: Page, composer: SandboxFan
) -> None:
    # The page's clock is Playwright's: it moves exactly 250 ms between keys, as a script's
    # fixed delay would, however long the machine takes to deliver each key. A short text
    # keeps the test short, judged from 18 intervals instead of the default 20.
    sandbox.update_guards(min_intervals=15)
    page.clock.install()
    page.clock.pause_at(page.evaluate("Date.now()"))
    for char in BOT_SHORT:
        page.keyboard.type(char)
        page.clock.run_for(250)
    send_and_wait(page, sandbox, 1)
    [sent] = sandbox.delivered("alice")
    assert sent.text == BOT_SHORT
    assert sent.flag_reasons == ["too_regular"]
    [flag] = sandbox.flags("alice")
    assert flag.reason == "too_regular" and f"over {len(BOT_SHORT) - 1} intervals" in flag.detail


@pytest.mark.browser
def test_a_lowered_speed_limit_flags_typing_without_delays(
    sandbox: Sandbox, page: Page, composer: SandboxFan
) -> None:
    # The page's clock moves 10 ms a key, as a script typing without delays would (a few a
    # human second at 0.01: under the default 15, over a limit of 0.1), however long the
    # machine takes to deliver each key.
    sandbox.update_guards(max_chars_per_s=0.1)
    page.clock.install()
    page.clock.pause_at(page.evaluate("Date.now()"))
    for char in BOT_TEXT:
        page.keyboard.type(char)
        page.clock.run_for(10)
    send_and_wait(page, sandbox, 1)
    [sent] = sandbox.delivered("alice")
    assert "too_fast" in sent.flag_reasons
