"""The drafter interface every provider fills (offline templates, OpenAI-compatible), the
context a drafter reads and the result it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from core.drafting.fan import FanSnapshot
from core.drafting.persona import Persona
from core.enums import DraftKind, KindSource

# The kinds an inbound message may be detected as. The nudge kinds are never detected:
# the nudge pass (`core.review.nudges`) decides them from a conversation's silence.
DETECTABLE_KINDS = (DraftKind.reply, DraftKind.ppv_offer, DraftKind.tip_thanks)


@dataclass(frozen=True)
class Detection:
    """The kind a message calls for, how sure the detector is (0-100), and which one."""

    kind: str
    confidence: int
    source: KindSource


@dataclass(frozen=True)
class ConversationTurn:
    direction: str  # "inbound" or "outbound"
    text: str


@dataclass(frozen=True)
class Example:
    """A message of ours that worked: what the fan wrote, what we answered (as sent), and
    what came of it (`bought` the PPV it offered, or `replied`)."""

    fan_text: str
    reply: str
    outcome: str


@dataclass(frozen=True)
class DraftContext:
    """Everything a drafter may read to write one reply."""

    persona: Persona
    fan_name: str
    inbound_text: str
    history: list[ConversationTurn] = field(default_factory=list)
    # The kind to write; when `classify` is set, the kind the offline heuristic detected
    # (a drafter that classifies may write another of `DETECTABLE_KINDS`).
    kind: str = DraftKind.reply
    classify: bool = False
    seed: int = 0
    fan: FanSnapshot = field(default_factory=FanSnapshot)
    # Set when the wellbeing guard flagged the fan: the prompt then forbids any sales talk.
    wellbeing_flagged: bool = False
    # Set when a PPV would take the fan past the account's daily spend cap: no sales talk.
    spend_capped: bool = False
    # What a ppv_offer to this fan would cost (cents), from the persona's price list.
    ppv_price_cents: int | None = None
    # How many alternative texts to write (`MIN_VARIANTS`..`MAX_VARIANTS`).
    variants: int = 3
    # What worked with this persona's fans for this kind, best first, and why operators
    # rejected drafts lately (`core.review.learning`).
    examples: tuple[Example, ...] = ()
    avoid: tuple[str, ...] = ()

    @property
    def sales_barred(self) -> bool:
        """Whether nothing may be offered for sale to this fan now."""
        return self.wellbeing_flagged or self.spend_capped


MIN_VARIANTS = 1
MAX_VARIANTS = 5
# A reason is one line for the review screen, not an essay.
REASON_MAX_CHARS = 200


@dataclass(frozen=True)
class Variant:
    """One alternative text of a draft, how well the drafter thinks it fits (0-100) and
    a one-line reason saying why."""

    text: str
    confidence: int
    reason: str


@dataclass(frozen=True)
class DraftResult:
    """The drafted variants (at least one) and what produced them. `fallback_reason` says
    why the configured provider's answer was replaced by the offline drafter's (None when
    it was not). `detection` is the provider's own classification of the message, when
    the context asked for one and the provider gave it; the heuristic's stands otherwise."""

    variants: tuple[Variant, ...]
    provider: str
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback_reason: str | None = None
    detection: Detection | None = None


class DraftingError(Exception):
    """A provider could not draft. `reason` is short, safe to log and store (no message
    text); the tokens are what a failed attempt still spent, when the server said so."""

    def __init__(self, reason: str, *, prompt_tokens: int = 0, completion_tokens: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class Drafter(Protocol):
    """Writes one draft (1 to `context.variants` variants) for a context, or raises
    `DraftingError`. Implementations must not log message text."""

    provider: str

    def draft(self, context: DraftContext) -> DraftResult: ...
