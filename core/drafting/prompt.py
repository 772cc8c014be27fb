"""The chat prompt an LLM drafter sends: persona (with its PPV price list), fan, draft
kind and recent messages, trimmed to a token budget.

For an inbound message the model also classifies it (`context.classify`): it names the
kind the message calls for, with its confidence, and writes for that kind. A fan who may
not be sold to (the wellbeing guard, the daily spend cap) is still classified, so a
withheld sales opportunity is recorded, but the model is told to write a plain reply.

Tokens are estimated as characters / 4 (`CHARS_PER_TOKEN`), rounded up, plus a small
per-message overhead. That is close enough for English chat with the usual tokenizers and
needs no tokenizer per model; the budget is a ceiling to stay well under, not an exact
count. Trimming drops the oldest conversation turns first; the fan's newest message is
always kept (cut short only when it alone would not fit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from core.drafting.base import DETECTABLE_KINDS, ConversationTurn, DraftContext
from core.drafting.fan import SpendTier
from core.enums import Direction, DraftKind

if TYPE_CHECKING:
    # Types only: importing `openai` costs every process half a second at start, and only
    # the drafting worker talking to an endpoint needs it (`core.drafting.openai_provider`).
    from openai.types.chat import (
        ChatCompletionAssistantMessageParam,
        ChatCompletionMessageParam,
        ChatCompletionSystemMessageParam,
        ChatCompletionUserMessageParam,
    )

CHARS_PER_TOKEN = 4
# Role markers and separators each chat message costs on top of its text.
MESSAGE_OVERHEAD_TOKENS = 4
# An example's texts and an avoid note: their start is what the prompt needs.
EXAMPLE_MAX_CHARS = 200
# Operator notes are free text of any length; the prompt keeps their start.
NOTES_MAX_CHARS = 500
# The newest fan message keeps at least this much even when the budget is spent.
NEWEST_MIN_CHARS = 200

KIND_INSTRUCTIONS: dict[str, str] = {
    DraftKind.reply: "Reply to the fan's latest message.",
    DraftKind.ppv_offer: (
        "Reply to the fan's latest message and tease paid content that fits what they "
        "asked for, without pressure."
    ),
    DraftKind.tip_thanks: "Thank the fan warmly for the tip they just sent.",
    DraftKind.follow_up: "Follow up on the conversation; the fan has not answered yet.",
    DraftKind.re_engage: "Write a friendly check-in to a fan who has been quiet for a while.",
}
# What each kind an inbound message may be classified as means, for the model.
KIND_MEANINGS: dict[str, str] = {
    DraftKind.reply: "a plain reply: the message is chat, not a wish to buy",
    DraftKind.ppv_offer: (
        "a sales opportunity: the fan asks what you have, for more, for new or special "
        "content, or hints they want something"
    ),
    DraftKind.tip_thanks: "the fan says they sent you a tip",
}

NO_SALES_INSTRUCTION = (
    "This fan may be vulnerable. Do not offer, mention or suggest anything for sale, and "
    "do not ask for tips."
)
SPEND_CAP_INSTRUCTION = (
    "This fan has reached their daily spending limit. Do not offer, mention or suggest "
    "anything for sale, and do not ask for tips."
)

RULES = (
    "Never share or ask for phone numbers, e-mail addresses, links, or accounts on other "
    "apps. Never suggest paying outside the platform. Never arrange to meet in person."
)


def answer_format(variants: int, classify: bool = False) -> str:
    """The JSON the model must answer with: `variants` different messages, each with a
    confidence and a one-line reason; with `classify`, the kind first, with its
    confidence."""
    kind = ""
    if classify:
        kind = (
            f'"kind": "<one of {", ".join(DETECTABLE_KINDS)}>", '
            '"kind_confidence": <0-100: how sure you are of the kind>, '
        )
    return (
        f"Write {variants} clearly different versions of the message. Answer with JSON "
        f'only, exactly: {{{kind}"variants": [{{"text": "<the message to send>", '
        '"confidence": <0-100: how well it fits this fan and conversation>, '
        '"reason": "<one line: why this message>"}]}, best version first.'
    )


def estimate_tokens(text: str) -> int:
    """Approximate tokens of `text`: characters / 4, rounded up."""
    return -(-len(text) // CHARS_PER_TOKEN)


@dataclass(frozen=True)
class Prompt:
    """Chat messages ready for `chat.completions.create`, their estimated size, and how
    many conversation turns made it in and were dropped for the budget."""

    messages: list[ChatCompletionMessageParam]
    estimated_tokens: int
    turns_used: int
    turns_dropped: int


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def _duration(gap: timedelta) -> str:
    minutes = int(gap.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def _quoted(items: list[str] | tuple[str, ...]) -> str:
    return ", ".join(f'"{item}"' for item in items)


def _offer_line(context: DraftContext) -> str:
    """How a PPV offer to this fan goes out, with its price."""
    price = _money(context.ppv_price_cents or 0)
    return (
        f"A ppv_offer goes out as a locked message priced {price} (the price list's price "
        "for this fan's tier): tease what they will unlock, without pressure."
    )


def _kind_lines(context: DraftContext) -> list[str]:
    """What to write: the kind given, or the kind to choose, and whether sales are barred."""
    lines = []
    if context.classify:
        lines.append("Draft kind: decide which kind the fan's latest message calls for:")
        lines += [f"- {kind}: {KIND_MEANINGS[kind]}" for kind in DETECTABLE_KINDS]
        lines.append("Write the message for the kind you chose.")
    else:
        kind = context.kind
        lines.append(
            f"Draft kind: {kind}. {KIND_INSTRUCTIONS.get(kind, KIND_INSTRUCTIONS['reply'])}"
        )
    if context.wellbeing_flagged:
        lines.append(NO_SALES_INSTRUCTION)
    elif context.spend_capped:
        lines.append(SPEND_CAP_INSTRUCTION)
    elif context.ppv_price_cents is not None and (
        context.classify or context.kind == DraftKind.ppv_offer
    ):
        lines.append(_offer_line(context))
    if context.sales_barred and context.classify:
        lines.append("Whatever kind you choose, write a plain reply with nothing for sale.")
    return lines


def _learned_lines(context: DraftContext) -> list[str]:
    """What worked before and what operators turned down, when there is any."""
    lines = []
    if context.examples:
        lines.append("Messages of yours that worked with fans (match their spirit, never copy):")
        lines += [
            f"- fan: {example.fan_text[:EXAMPLE_MAX_CHARS]!r} -> you: "
            f"{example.reply[:EXAMPLE_MAX_CHARS]!r} ({example.outcome})"
            for example in context.examples
        ]
    if context.avoid:
        lines.append("Avoid what operators rejected drafts for:")
        lines += [f"- {note[:EXAMPLE_MAX_CHARS]}" for note in context.avoid]
    return lines


def system_text(context: DraftContext) -> str:
    """The system message: who writes, to whom, what for, and the rules."""
    persona = context.persona
    fan = context.fan
    writer = persona.name or "the creator"
    lines = [
        f"You write one chat message as {writer}, a creator on a subscription platform, "
        "to a fan. Sound like a real person texting: short, natural, no hashtags.",
        "Voice:",
        f"- tone: {persona.tone}",
        f"- emoji style: {persona.emoji_style}"
        + (f" (favourites: {' '.join(persona.emojis)})" if persona.emojis else ""),
    ]
    if persona.phrases:
        lines.append(f"- phrases you like to use: {_quoted(persona.phrases)}")
    if persona.forbidden_words:
        lines.append(f"- never use these words: {_quoted(persona.forbidden_words)}")
    if not context.sales_barred:
        prices = ", ".join(
            f"{tier.value} {_money(persona.ppv_prices.for_tier(tier))}" for tier in SpendTier
        )
        lines.append(f"- PPV prices by fan spend tier: {prices}")
    lines += [
        "Fan:",
        f"- name: {context.fan_name or 'unknown'}",
        f"- spend tier: {fan.tier.value} (total spent {_money(fan.total_spend_cents)}; "
        f"{fan.tips} tips, {fan.paid_ppvs} paid PPVs)",
    ]
    if fan.tags:
        lines.append(f"- tags: {', '.join(fan.tags)}")
    if fan.notes.strip():
        lines.append(f"- notes: {fan.notes.strip()[:NOTES_MAX_CHARS]}")
    if fan.since_previous_message is not None:
        lines.append(
            f"- time since their previous message: {_duration(fan.since_previous_message)}"
        )
    if fan.silent_for is not None:
        lines.append(f"- silent for: {_duration(fan.silent_for)}")
    lines += _kind_lines(context)
    lines += _learned_lines(context)
    lines += [RULES, answer_format(context.variants, context.classify)]
    return "\n".join(lines)


def _chat_message(turn: ConversationTurn, text: str) -> ChatCompletionMessageParam:
    # The fan is the "user" and the creator the "assistant": the model continues as her.
    if turn.direction == Direction.inbound:
        fans: ChatCompletionUserMessageParam = {"role": "user", "content": text}
        return fans
    ours: ChatCompletionAssistantMessageParam = {"role": "assistant", "content": text}
    return ours


def _cost(text: str) -> int:
    return estimate_tokens(text) + MESSAGE_OVERHEAD_TOKENS


def build_prompt(context: DraftContext, token_budget: int) -> Prompt:
    """The chat messages for `context`, at most about `token_budget` tokens: the system
    message, then as many of the newest turns as fit, oldest first."""
    system = system_text(context)
    used = _cost(system)
    turns = context.history or [ConversationTurn(Direction.inbound.value, context.inbound_text)]
    kept: list[ChatCompletionMessageParam] = []
    for index, turn in enumerate(reversed(turns)):
        cost = _cost(turn.text)
        if used + cost <= token_budget:
            kept.append(_chat_message(turn, turn.text))
            used += cost
            continue
        if index == 0:
            # The message being answered always goes in, cut to what the budget leaves.
            room = max((token_budget - used - MESSAGE_OVERHEAD_TOKENS) * CHARS_PER_TOKEN, 0)
            text = turn.text[: max(room, NEWEST_MIN_CHARS)]
            kept.append(_chat_message(turn, text))
            used += _cost(text)
        break
    instructions: ChatCompletionSystemMessageParam = {"role": "system", "content": system}
    messages: list[ChatCompletionMessageParam] = [instructions, *reversed(kept)]
    return Prompt(
        messages=messages,
        estimated_tokens=used,
        turns_used=len(kept),
        turns_dropped=len(turns) - len(kept),
    )
