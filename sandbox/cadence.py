"""Judging how a message was typed, from the composer's record of input events.

The page records every `input` event of the composer (time, graphemes inserted, input
type) and sends that record with the message. Text that arrived without keystrokes, in
bursts larger than one keystroke can produce, or that the record does not account for was
not typed by a person; such messages are delivered but flagged, as a careful platform's
automation detection would.
"""

from __future__ import annotations

from dataclasses import dataclass

import regex
from pydantic import BaseModel, ConfigDict, Field

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


def assess(text: str, cadence: list[CadenceEvent], max_graphemes_per_event: int) -> list[Flag]:
    """Every reason the typing record of `text` looks automated; empty if it looks typed."""
    if not cadence:
        return [Flag("no_input_events", "the text arrived without any input event")]
    flags = []
    burst = max(event.graphemes for event in cadence)
    if burst > max_graphemes_per_event:
        flags.append(
            Flag(
                "burst_input",
                f"one input event inserted {burst} graphemes"
                f" (at most {max_graphemes_per_event} expected)",
            )
        )
    # Typed-then-deleted characters make the record exceed the text, never fall short.
    typed = sum(event.graphemes for event in cadence)
    needed = count_graphemes(text)
    if typed < needed:
        flags.append(
            Flag("cadence_mismatch", f"input events account for {typed} of {needed} graphemes")
        )
    return flags
