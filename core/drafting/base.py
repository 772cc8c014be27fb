"""The drafter interface every provider fills (offline templates, OpenAI-compatible), the
context a drafter reads and the result it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field

from core.drafting.fan import FanSnapshot


class DraftKind(StrEnum):
    """What a draft is for. `ppv_offer` is the one that sells; the wellbeing guard turns it
    into a plain `reply` for a fan it flags."""

    reply = "reply"
    ppv_offer = "ppv_offer"
    tip_thanks = "tip_thanks"
    follow_up = "follow_up"
    re_engage = "re_engage"


class Persona(BaseModel):
    """How an account writes. Stored as JSON on the account; every field has a default."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100, description="Display name used in replies.")
    tone: str = Field(default="warm", pattern=r"^(warm|playful|flirty|professional)$")
    emoji_style: str = Field(default="some", pattern=r"^(none|some|lots)$")
    emojis: list[str] = Field(default_factory=lambda: ["😊", "💕", "✨"], max_length=20)
    phrases: list[str] = Field(default_factory=list, max_length=20)
    forbidden_words: list[str] = Field(default_factory=list, max_length=200)


@dataclass(frozen=True)
class ConversationTurn:
    direction: str  # "inbound" or "outbound"
    text: str


@dataclass(frozen=True)
class DraftContext:
    """Everything a drafter may read to write one reply."""

    persona: Persona
    fan_name: str
    inbound_text: str
    history: list[ConversationTurn] = field(default_factory=list)
    kind: str = DraftKind.reply
    seed: int = 0
    fan: FanSnapshot = field(default_factory=FanSnapshot)
    # Set when the wellbeing guard flagged the fan: the prompt then forbids any sales talk.
    wellbeing_flagged: bool = False
    # How many alternative texts to write (`MIN_VARIANTS`..`MAX_VARIANTS`).
    variants: int = 3


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
    it was not)."""

    variants: tuple[Variant, ...]
    provider: str
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallback_reason: str | None = None


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
