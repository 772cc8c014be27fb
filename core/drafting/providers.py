"""Choosing the drafter: the one seam where a provider is picked from the settings."""

from __future__ import annotations

from dataclasses import replace

from loguru import logger

from core.drafting.base import DraftContext, Drafter, DraftingError, DraftResult
from core.drafting.offline import OfflineDrafter
from core.drafting.openai_provider import OpenAIDrafter
from core.settings import Settings


class FallbackDrafter:
    """Drafts with `primary`; when it fails, with `fallback`, saying why in the result's
    `fallback_reason`. The result then names the fallback's provider and model and keeps
    the tokens the failed attempt spent, so usage stays complete."""

    def __init__(self, primary: Drafter, fallback: Drafter) -> None:
        self.primary = primary
        self.fallback = fallback
        self.provider = primary.provider

    def draft(self, context: DraftContext) -> DraftResult:
        """The primary's draft, or the fallback's when the primary raises `DraftingError`."""
        try:
            return self.primary.draft(context)
        except DraftingError as exc:
            reason = f"{self.primary.provider} failed: {exc.reason}"
            logger.bind(provider=self.primary.provider, reason=exc.reason).warning(
                "drafting provider failed; falling back to {}", self.fallback.provider
            )
            result = self.fallback.draft(context)
            return replace(
                result,
                fallback_reason=reason,
                prompt_tokens=result.prompt_tokens + exc.prompt_tokens,
                completion_tokens=result.completion_tokens + exc.completion_tokens,
            )


def llm_configured(settings: Settings) -> bool:
    """Whether an LLM endpoint is configured: an API key, or a base URL for a keyless
    local server."""
    return bool(settings.openai_api_key or settings.openai_base_url)


def get_drafter(settings: Settings) -> Drafter:
    """The OpenAI-compatible drafter, backed by the offline one, when an LLM endpoint is
    configured (`llm_configured`); else offline."""
    offline = OfflineDrafter()
    if not llm_configured(settings):
        return offline
    primary = OpenAIDrafter(
        model=settings.openai_model,
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        timeout_s=settings.openai_timeout_s,
        max_retries=settings.openai_max_retries,
        token_budget=settings.draft_prompt_token_budget,
    )
    return FallbackDrafter(primary, offline)
