"""Drafting through any OpenAI-compatible chat-completions endpoint: OpenAI, Azure OpenAI
(its `/openai/v1/` base URL), vLLM, Ollama.

The model is asked for JSON (`{"variants": [{"text", "confidence", "reason"}, ...]}`) so
a chatty preamble or a refusal is told apart from a draft. A variant that is not that shape
is dropped, as is a repeated text or any beyond the number asked for; an answer with no
usable variant is a failure. A context that asks for a classification also gets `"kind"`
and `"kind_confidence"`: an answer that leaves the kind out still drafts (the offline
heuristic's kind then stands); one that names a kind it was not offered, or gives no
confidence for it, is a failure, since its texts were written for something else.

Every failure (rate limit, server error, timeout, unreachable server, an answer that is
not that JSON) raises `DraftingError` with a short reason, after
the client's own retries; `FallbackDrafter` in `providers.py` then drafts offline.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from core.drafting.base import (
    DETECTABLE_KINDS,
    REASON_MAX_CHARS,
    Detection,
    DraftContext,
    DraftingError,
    DraftResult,
    Variant,
)
from core.drafting.prompt import build_prompt, estimate_tokens
from core.enums import KindSource
from core.platform.profiles import MAX_TEXT_CHARS

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

PROVIDER = "openai"
# A chat message per variant, not an essay: also bounds the cost of a runaway answer.
MAX_COMPLETION_TOKENS_PER_VARIANT = 300
TEMPERATURE = 0.8
# Local servers (Ollama, vLLM) take no key, but the client refuses to start without one.
NO_KEY = "no-key"


def _score(value: Any) -> int | None:
    """A 0-100 score of the answer, rounded, or None when `value` is not one."""
    # JSON has no int type of its own: 87.5 is fine, true (a bool is an int) is not.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 <= value <= 100:
        return None
    return round(value)


def _variant(item: Any) -> Variant | None:
    """One well-formed variant of the answer, or None for an item that is not one."""
    if not isinstance(item, dict):
        return None
    text, confidence, reason = item.get("text"), item.get("confidence"), item.get("reason")
    if not isinstance(text, str) or not text.strip() or len(text.strip()) > MAX_TEXT_CHARS:
        return None
    score = _score(confidence)
    if score is None:
        return None
    if not isinstance(reason, str) or not reason.strip():
        return None
    line = reason.strip().splitlines()[0][:REASON_MAX_CHARS]
    return Variant(text=text.strip(), confidence=score, reason=line)


def _detection(payload: dict[str, Any]) -> Detection | None:
    """The model's classification in an answer, None when it gave none, or
    `DraftingError` when it is not one of the kinds offered with a 0-100 confidence."""
    kind = payload.get("kind")
    if kind is None:
        return None
    if kind not in DETECTABLE_KINDS:
        raise DraftingError("bad_response: unknown kind")
    confidence = _score(payload.get("kind_confidence"))
    if confidence is None:
        raise DraftingError("bad_response: no kind_confidence")
    return Detection(kind=str(kind), confidence=confidence, source=KindSource.llm)


def _parse(
    completion: ChatCompletion, wanted: int, classify: bool
) -> tuple[tuple[Variant, ...], Detection | None]:
    """Up to `wanted` distinct variants in a completion and, with `classify`, the model's
    classification; or `DraftingError` naming what is wrong with it."""
    if not completion.choices:
        raise DraftingError("bad_response: no choices")
    content = completion.choices[0].message.content
    if not content:
        raise DraftingError("bad_response: empty content")
    try:
        payload = json.loads(content)
    except json.JSONDecodeError as exc:
        raise DraftingError("bad_response: not JSON") from exc
    if not isinstance(payload, dict):
        raise DraftingError('bad_response: no "variants" list')
    items = payload.get("variants")
    if not isinstance(items, list):
        raise DraftingError('bad_response: no "variants" list')
    detection = _detection(payload) if classify else None
    variants: dict[str, Variant] = {}
    for item in items:
        variant = _variant(item)
        if variant is not None and variant.text not in variants:
            variants[variant.text] = variant
    if not variants:
        raise DraftingError("bad_response: no usable variant")
    return tuple(variants.values())[:wanted], detection


class OpenAIDrafter:
    """Drafts with one chat completion per context; a fresh client per call, so nothing
    outlives the job that drafts."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str | None,
        timeout_s: float,
        max_retries: int,
        token_budget: int,
    ) -> None:
        self.model = model
        self.base_url = base_url
        self.api_key = api_key
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.token_budget = token_budget

    def _complete(
        self, messages: list[ChatCompletionMessageParam], variants: int
    ) -> ChatCompletion:
        # Imported here: `openai` takes half a second to import, which every other process
        # (the CLI, the browser workers, the API) would pay at start for nothing.
        import openai

        try:
            with openai.OpenAI(
                base_url=self.base_url,
                api_key=self.api_key or NO_KEY,
                timeout=self.timeout_s,
                max_retries=self.max_retries,
            ) as client:
                return client.chat.completions.create(
                    model=self.model,
                    messages=messages,
                    # `max_tokens`, not `max_completion_tokens`: vLLM and Ollama know this one.
                    max_tokens=MAX_COMPLETION_TOKENS_PER_VARIANT * variants,
                    temperature=TEMPERATURE,
                    response_format={"type": "json_object"},
                )
        # Order matters: a timeout is a connection error, and both are API errors.
        except openai.RateLimitError as exc:
            raise DraftingError("rate_limited: HTTP 429") from exc
        except openai.APIStatusError as exc:
            raise DraftingError(f"http_error: HTTP {exc.status_code}") from exc
        except openai.APITimeoutError as exc:
            raise DraftingError(f"timeout: no answer within {self.timeout_s:g}s") from exc
        except openai.APIConnectionError as exc:
            raise DraftingError("connection_error: server unreachable") from exc
        except openai.APIError as exc:
            raise DraftingError(f"bad_response: {type(exc).__name__}") from exc

    def draft(self, context: DraftContext) -> DraftResult:
        """One draft (its variants) from the endpoint, or `DraftingError` once the retries
        are spent."""
        prompt = build_prompt(context, self.token_budget)
        completion = self._complete(prompt.messages, context.variants)
        usage = completion.usage
        # Some compatible servers report no usage; the estimate keeps token budgets honest.
        prompt_tokens = usage.prompt_tokens if usage else prompt.estimated_tokens
        content = completion.choices[0].message.content if completion.choices else None
        completion_tokens = usage.completion_tokens if usage else estimate_tokens(content or "")
        try:
            variants, detection = _parse(completion, context.variants, context.classify)
        except DraftingError as exc:
            exc.prompt_tokens, exc.completion_tokens = prompt_tokens, completion_tokens
            raise
        return DraftResult(
            variants=variants,
            provider=self.provider,
            model=completion.model or self.model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            detection=detection,
        )
