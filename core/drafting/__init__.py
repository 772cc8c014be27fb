"""Writing text, and nothing else: a persona and a context in, variants out.

The provider interface (`base`), the offline drafter and the OpenAI-compatible one, the
prompt, the kind detector (`intent`), and the persona with its price list. Pure of the
database: the drafts a drafter's text becomes are `core.review`'s.
"""

from core.drafting.base import (
    DETECTABLE_KINDS,
    MAX_VARIANTS,
    MIN_VARIANTS,
    ConversationTurn,
    Detection,
    DraftContext,
    Drafter,
    DraftingError,
    DraftResult,
    Variant,
)
from core.drafting.fan import FanSnapshot, SpendTier, spend_tier
from core.drafting.persona import Persona, PriceList
from core.drafting.providers import get_drafter, llm_configured, with_fallback

__all__ = [
    "DETECTABLE_KINDS",
    "MAX_VARIANTS",
    "MIN_VARIANTS",
    "ConversationTurn",
    "Detection",
    "DraftContext",
    "DraftResult",
    "Drafter",
    "DraftingError",
    "FanSnapshot",
    "Persona",
    "PriceList",
    "SpendTier",
    "Variant",
    "get_drafter",
    "llm_configured",
    "spend_tier",
    "with_fallback",
]
