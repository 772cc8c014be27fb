"""Judging how a message was typed, from the composer's record of input events.

The page records every `input` event of the composer (time, graphemes inserted, input
type) and sends that record with the message. Text that arrived without keystrokes, in
bursts larger than one keystroke can produce, or that the record does not account for was
not typed by a person; such messages are delivered but flagged, as a careful platform's
automation detection would. So are messages whose keystrokes (every input event, Backspace
included) come too fast or too evenly spaced:

- Speed. Event times are real milliseconds, but a scaled worker waits `delay * time_scale`
  real seconds for a delay of `delay` human seconds. A human second is therefore
  `time_scale` real seconds, and a rate of `r` keystrokes per real second is
  `r * time_scale` per human second: that is what `max_chars_per_s` (human) is compared
  with. At 0.01 the limit of 15 is 1500 real keystrokes a second, more than Chromium
  delivers, so in tests only a lowered limit can trip it; at 1.0 it is a typist's burst
  pace, four times the fleet's own default (220 per minute, about 3.7 a second).
- Regularity. The coefficient of variation (standard deviation over mean) of the
  intervals between keystrokes has no unit, so it needs no scaling. A script with a fixed
  delay scores a few hundredths; people, and the fleet's log-normal plans with their
  word, punctuation and correction pauses, score about 0.4 to 0.6 (`python -m
  bench.typing` reports the spread; its lowest is near 0.3, in Chromium at 0.01 too).

Both need a sample: messages with fewer than `min_intervals` intervals are not judged, as
a short reply's statistics say nothing.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import regex
from pydantic import BaseModel, ConfigDict, Field

from sandbox.guards import Guards

_GRAPHEME = regex.compile(r"\X")


class CadenceEvent(BaseModel):
    """One composer `input` event as the page recorded it."""

    model_config = ConfigDict(extra="forbid")

    t_ms: float = Field(ge=0, description="performance.now() when the event fired.")
    graphemes: int = Field(ge=0, description="Graphemes the event inserted (0 if deleting).")
    input_type: str = Field(max_length=64, description="The event's inputType.")


@dataclass(frozen=True)
class Flag:
    """Why a message looks automated: a short code and a sentence for people."""

    reason: str
    detail: str


def count_graphemes(text: str) -> int:
    """User-perceived characters (extended grapheme clusters) in `text`."""
    return len(_GRAPHEME.findall(text))


def assess(text: str, cadence: list[CadenceEvent], guards: Guards) -> list[Flag]:
    """Every reason the typing record of `text` looks automated; empty if it looks typed."""
    if not cadence:
        return [Flag("no_input_events", "the text arrived without any input event")]
    flags = []
    burst = max(event.graphemes for event in cadence)
    if burst > guards.max_graphemes_per_event:
        flags.append(
            Flag(
                "burst_input",
                f"one input event inserted {burst} graphemes"
                f" (at most {guards.max_graphemes_per_event} expected)",
            )
        )
    # Typed-then-deleted characters make the record exceed the text, never fall short.
    typed = sum(event.graphemes for event in cadence)
    needed = count_graphemes(text)
    if typed < needed:
        flags.append(
            Flag("cadence_mismatch", f"input events account for {typed} of {needed} graphemes")
        )
    return flags + _rhythm_flags(sorted(event.t_ms for event in cadence), guards)


def _rhythm_flags(times_ms: list[float], guards: Guards) -> list[Flag]:
    """Flags for keystrokes at `times_ms` (real, sorted) that are too fast or too even."""
    intervals = [later - earlier for earlier, later in zip(times_ms, times_ms[1:], strict=False)]
    if len(intervals) < guards.min_intervals:
        return []
    flags = []
    span_human_s = (times_ms[-1] - times_ms[0]) / 1000 / guards.time_scale
    per_s = len(intervals) / span_human_s if span_human_s > 0 else float("inf")
    if per_s > guards.max_chars_per_s:
        flags.append(
            Flag(
                "too_fast",
                f"{per_s:.1f} keystrokes per second over {len(intervals)} intervals"
                f" (at most {guards.max_chars_per_s:g} expected)",
            )
        )
    mean = statistics.fmean(intervals)
    cv = statistics.pstdev(intervals) / mean if mean > 0 else 0.0
    if cv < guards.min_interval_cv:
        flags.append(
            Flag(
                "too_regular",
                f"key intervals vary by {cv:.3f} of their mean over {len(intervals)} intervals"
                f" (at least {guards.min_interval_cv:g} expected)",
            )
        )
    return flags
