"""Plays a typing plan through Playwright's keyboard.

The plan (core.typing_plan) decides what and when; this only presses. A line break goes
in as the profile's newline chord (plain Enter would send early on most platforms), and
anything that is not a single printable ASCII character (emoji, ZWJ sequences, accents)
goes in whole through `insert_text`, so no grapheme is split into broken code points. A
correction step presses Backspace, a real key, so the page sees a `deleteContentBackward`
input as it would from a person.

Keys are timed against the plan's own timeline (think, then the running sum of delays),
not by sleeping each delay after the previous press: a press costs the browser a few real
milliseconds, which would otherwise be added to every interval. At full scale that keeps
the message to its planned duration; at the tests' 0.01, where planned intervals are
shorter than a press, keys go as fast as the browser takes them and the later pauses
absorb the lag, instead of a constant press cost evening out the rhythm the platform's
regularity check measures (see `sandbox.cadence`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import Keyboard

from core.platform.typing_plan import TypingPlan


def _typed_as_key(grapheme: str) -> bool:
    return len(grapheme) == 1 and grapheme.isascii() and grapheme.isprintable()


def play_plan(
    keyboard: Keyboard,
    plan: TypingPlan,
    newline_key: str,
    sleep: Callable[[float], None],
    time_scale: float,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Type `plan` into the focused element: think, then each step when its delay since
    the previous step has passed on the plan's timeline (`clock`, in real seconds)."""
    start = clock()
    due = plan.think_s * time_scale
    for step in plan.steps:
        due += step.delay_s * time_scale
        wait = start + due - clock()
        if wait > 0:
            sleep(wait)
        if step.kind == "backspace":
            keyboard.press("Backspace")
        elif step.grapheme == "\n":
            keyboard.press(newline_key)
        elif _typed_as_key(step.grapheme):
            keyboard.type(step.grapheme)
        else:
            keyboard.insert_text(step.grapheme)
