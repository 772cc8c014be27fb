"""The drafter interface every provider fills (offline templates, OpenAI-compatible), the
context a drafter reads and the result it returns, and the persona with its price list."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.drafting.fan import FanSnapshot, SpendTier


class DraftKind(StrEnum):
    """What a draft is for. `ppv_offer` is the one that sells; the wellbeing guard turns it
    into a plain `reply` for a fan it flags."""

    reply = "reply"
    ppv_offer = "ppv_offer"
    tip_thanks = "tip_thanks"
    follow_up = "follow_up"
    re_engage = "re_engage"


# The kinds an inbound message may be detected as. The nudge kinds are never detected:
# the nudge pass (`core.nudges`) decides them from a conversation's silence.
DETECTABLE_KINDS = (DraftKind.reply, DraftKind.ppv_offer, DraftKind.tip_thanks)
NUDGE_KINDS = frozenset({DraftKind.follow_up, DraftKind.re_engage})


class KindSource(StrEnum):
    """What decided a draft's kind: a fact (a tip came with the message, the nudge pass
    chose it), the offline heuristic, or the LLM's classification."""

    rule = "rule"
    heuristic = "heuristic"
    llm = "llm"


@dataclass(frozen=True)
class Detection:
    """The kind a message calls for, how sure the detector is (0-100), and which one."""

    kind: str
    confidence: int
    source: KindSource


# Platforms take PPV prices in a range like this one (the sandbox: $1 to $1,000).
PPV_MIN_CENTS = 100
PPV_MAX_CENTS = 100_000


def _price(default: int, who: str) -> Any:
    """A price field of the price list (pydantic's `Field`, untyped)."""
    return Field(
        default=default,
        ge=PPV_MIN_CENTS,
        le=PPV_MAX_CENTS,
        description=f"PPV price in cents offered to {who}.",
    )


class PriceList(BaseModel):
    """What a PPV offer costs, in cents, by the fan's spend tier (`core.drafting.fan`):
    the agency's usual ladder, a low first price to win a first purchase, more for fans
    who have shown they pay. Prices never fall as the tier rises."""

    model_config = ConfigDict(extra="forbid")

    none: int = _price(1_000, "fans who have bought nothing yet")
    low: int = _price(1_500, "fans who have spent under $50")
    mid: int = _price(2_500, "fans who have spent $50 to $500")
    top: int = _price(4_000, "fans who have spent $500 or more")

    @model_validator(mode="after")
    def _rising(self) -> PriceList:
        prices = [(tier, self.for_tier(tier)) for tier in SpendTier]
        for (lower, low_price), (higher, high_price) in zip(prices, prices[1:], strict=False):
            if high_price < low_price:
                raise ValueError(
                    f"the {higher.value} price ({high_price}) is below the {lower.value} "
                    f"price ({low_price}); prices must not fall as the tier rises"
                )
        return self

    def for_tier(self, tier: SpendTier) -> int:
        """The price, in cents, of a PPV offered to a fan of `tier`."""
        return int(getattr(self, tier.value))


class Persona(BaseModel):
    """How an account writes. Stored as JSON on the account; every field has a default."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100, description="Display name used in replies.")
    tone: str = Field(default="warm", pattern=r"^(warm|playful|flirty|professional)$")
    emoji_style: str = Field(default="some", pattern=r"^(none|some|lots)$")
    emojis: list[str] = Field(default_factory=lambda: ["😊", "💕", "✨"], max_length=20)
    phrases: list[str] = Field(default_factory=list, max_length=20)
    forbidden_words: list[str] = Field(default_factory=list, max_length=200)
    ppv_prices: PriceList = Field(
        default_factory=PriceList,
        description="PPV prices in cents per fan spend tier; a ppv_offer suggests its fan's.",
    )


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
