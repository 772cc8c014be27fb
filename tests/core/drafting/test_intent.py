"""The offline kind detector: what a fan's message calls for, and how sure it is; and the
offline drafter's texts for each kind."""

from __future__ import annotations

import pytest

from core.drafting.base import DraftContext
from core.drafting.intent import (
    MAX_CONFIDENCE,
    SALES_SIGNALS,
    TIP_MENTION_CONFIDENCE,
    Intent,
    detect_kind,
    sales_signals,
    template_intent,
)
from core.drafting.offline import CONFIDENCE, TEMPLATES, OfflineDrafter
from core.drafting.persona import Persona
from core.enums import DraftKind, KindSource
from core.guardrails import content_filter

# (message, kind, confidence): sales opportunities, then tips, then plain replies.
KINDS: list[tuple[str, DraftKind, int]] = [
    ("what do you have for me tonight? 😏", DraftKind.ppv_offer, MAX_CONFIDENCE),
    ("what have you got for me", DraftKind.ppv_offer, 80),
    ("what else do you have?", DraftKind.ppv_offer, 60),
    ("what can you show me", DraftKind.ppv_offer, 60),
    ("show me more 😈", DraftKind.ppv_offer, 80),
    ("send me a new pic", DraftKind.ppv_offer, 60),
    ("any new vids?", DraftKind.ppv_offer, 60),
    ("got any spicy content", DraftKind.ppv_offer, 80),
    ("can i see more?", DraftKind.ppv_offer, 60),
    ("dying to see more of you", DraftKind.ppv_offer, 60),
    ("would you make a custom video", DraftKind.ppv_offer, 60),
    ("got something special for me?", DraftKind.ppv_offer, 80),
    ("how much for the new set?", DraftKind.ppv_offer, 60),
    ("i want to buy your ppv", DraftKind.ppv_offer, 60),
    ("feeling naughty tonight 😈", DraftKind.ppv_offer, 60),
    ("sent you a $20 tip", DraftKind.tip_thanks, TIP_MENTION_CONFIDENCE),
    ("just tipped you babe", DraftKind.tip_thanks, TIP_MENTION_CONFIDENCE),
    ("hello?", DraftKind.reply, 90),
    ("hey, what are you doing tonight?", DraftKind.reply, 80),
    ("what do you have planned this weekend?", DraftKind.reply, 90),
    ("send me a message when you're free", DraftKind.reply, 90),
    ("how much do you love me", DraftKind.reply, 90),
    ("you look so hot 🔥", DraftKind.reply, 80),
    ("i'm so bored at work tonight", DraftKind.reply, 60),
    ("long day at work", DraftKind.reply, 90),
    ("are you from texas?", DraftKind.reply, 90),
]


@pytest.mark.parametrize(("text", "kind", "confidence"), KINDS)
def test_detected_kind_and_confidence(text: str, kind: DraftKind, confidence: int) -> None:
    detection = detect_kind(text)
    assert (detection.kind, detection.confidence) == (kind, confidence)
    assert detection.source == KindSource.heuristic


def test_every_signal_is_exercised_by_the_table() -> None:
    seen = {signal.name for text, _, _ in KINDS for signal in sales_signals(text)}
    assert seen == {signal.name for signal in SALES_SIGNALS}


@pytest.mark.parametrize(
    ("kind", "intent"),
    [
        (DraftKind.ppv_offer, Intent.sales),
        (DraftKind.tip_thanks, Intent.tip),
        (DraftKind.follow_up, Intent.follow_up),
        (DraftKind.re_engage, Intent.re_engage),
        (DraftKind.reply, Intent.question),
    ],
)
def test_templates_follow_the_kind(kind: DraftKind, intent: Intent) -> None:
    # The text asks a question and mentions money: only a reply reads the text.
    assert template_intent("how much is $20 in euros?", kind) == intent


PERSONA = Persona(name="Mia", tone="flirty", emojis=["😘"], phrases=["xoxo"])


@pytest.mark.parametrize(
    "kind", [DraftKind.ppv_offer, DraftKind.follow_up, DraftKind.re_engage, DraftKind.tip_thanks]
)
def test_offline_drafts_each_kind_from_its_templates(kind: DraftKind) -> None:
    context = DraftContext(
        persona=PERSONA, fan_name="Sam Jones", inbound_text="hello?", kind=kind, seed=3
    )
    result = OfflineDrafter().draft(context)
    intent = template_intent("hello?", kind)
    templates = [t.replace("{ name}", " Sam") for t in TEMPLATES[intent]["flirty"]]
    assert len(result.variants) == 3
    for variant in result.variants:
        assert any(variant.text.startswith(template) for template in templates), variant.text
    assert result.variants[0].confidence == CONFIDENCE[intent]


def test_no_template_trips_the_content_filter() -> None:
    texts = [
        template.replace("{ name}", " Sam")
        for tones in TEMPLATES.values()
        for options in tones.values()
        for template in options
    ]
    blocked = [text for text in texts if content_filter.check(text, []).blocked]
    assert blocked == []
