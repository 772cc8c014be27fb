"""Choosing the drafter: the one seam where a provider is picked from the settings."""

from __future__ import annotations

from dataclasses import replace

from loguru import logger

from core.drafting.base import DraftContext, Drafter, DraftingError, DraftResult
from core.drafting.offline import OfflineDrafter
from core.drafting.openai_provider import OpenAIDrafter
from core.settings import Settings


class FallbackDrafter:
    """Drafts with `primary`; when it fails, or is held back (`holding`: a budget is
    spent), with `fallback`, saying why in the result's `fallback_reason`. The result then
    names the fallback's provider and model and keeps the tokens a failed attempt spent,
    so usage stays complete."""

    def __init__(self, primary: Drafter, fallback: Drafter, *, held: str | None = None) -> None:
        self.primary = primary
        self.fallback = fallback
        self.provider = primary.provider
        # Why the primary must not be called at all, when it must not.
        self.held = held

    def holding(self, reason: str) -> FallbackDrafter:
        """This drafter with its primary held back for `reason`: it drafts with the
        fallback at once, never calling the primary, and `reason` is the draft's
        `fallback_reason`."""
        return FallbackDrafter(self.primary, self.fallback, held=reason)

    def draft(self, context: DraftContext) -> DraftResult:
        """The primary's draft, or the fallback's when the primary is held back or raises
        `DraftingError`."""
        if self.held is not None:
            return self._fall_back(context, self.held)
        try:
            return self.primary.draft(context)
        except DraftingError as exc:
            logger.bind(provider=self.primary.provider, reason=exc.reason).warning(
                "drafting provider failed; falling back to {}", self.fallback.provider
            )
            return self._fall_back(
                context,
                f"{self.primary.provider} failed: {exc.reason}",
                spent=(exc.prompt_tokens, exc.completion_tokens),
            )

    def _fall_back(
        self, context: DraftContext, reason: str, spent: tuple[int, int] = (0, 0)
    ) -> DraftResult:
        """The fallback's draft saying `reason`, with the tokens the primary `spent`."""
        result = self.fallback.draft(context)
        return replace(
            result,
            fallback_reason=reason,
            prompt_tokens=result.prompt_tokens + spent[0],
            completion_tokens=result.completion_tokens + spent[1],
        )


def with_fallback(drafter: Drafter) -> FallbackDrafter:
    """`drafter` as it is when it already falls back (a `FallbackDrafter`), else backed by
    the offline drafter."""
    if isinstance(drafter, FallbackDrafter):
        return drafter
    return FallbackDrafter(drafter, OfflineDrafter())


def llm_configured(settings: Settings) -> bool:
    """Whether an LLM endpoint is configured: an API key, or a base URL for a keyless
    local server."""
    return bool(settings.openai_api_key or settings.openai_base_url)


def get_drafter(settings: Settings) -> Drafter:
    """The OpenAI-compatible drafter, backed by the offline one, when an LLM endpoint is
    configured (`llm_configured`); else offline."""
    if not llm_configured(settings):
        return OfflineDrafter()
    primary = OpenAIDrafter(
        model=settings.openai_model,
        base_url=settings.openai_base_url,
        api_key=settings.openai_api_key,
        timeout_s=settings.openai_timeout_s,
        max_retries=settings.openai_max_retries,
        token_budget=settings.draft_prompt_token_budget,
    )
    return with_fallback(primary)
