"""The drafter interface every provider fills: offline templates now, OpenAI-compatible next."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field


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
    kind: str = "reply"
    seed: int = 0


@dataclass(frozen=True)
class DraftResult:
    text: str
    provider: str
    model: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0


class Drafter(Protocol):
    """Writes one draft for a context. Implementations must not log message text."""

    provider: str

    def draft(self, context: DraftContext) -> DraftResult: ...
