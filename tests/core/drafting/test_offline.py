"""The offline drafter's variants: different texts, deterministic per seed, best first,
with a confidence that says how completely a template answers the fan."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.drafting.base import DraftContext
from core.drafting.intent import Intent, reply_intent
from core.drafting.offline import CONFIDENCE, RANK_PENALTY, OfflineDrafter
from core.drafting.persona import Persona

PERSONA = Persona(name="Mia", tone="flirty", emojis=["😘", "💕"], phrases=["xoxo"])


def _context(
    text: str, variants: int = 3, seed: int = 7, persona: Persona = PERSONA
) -> DraftContext:
    return DraftContext(
        persona=persona, fan_name="Sam Jones", inbound_text=text, seed=seed, variants=variants
    )


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("hello?", Intent.greeting),
        ("hey you!!", Intent.greeting),
        ("hi there", Intent.greeting),
        ("hey, what are you doing tonight?", Intent.question),
        ("what's up?", Intent.question),
        ("you're gorgeous", Intent.compliment),
        ("long day at work", Intent.general),
    ],
)
def test_reply_intents(text: str, intent: Intent) -> None:
    assert reply_intent(text) == intent


@pytest.mark.parametrize("count", [1, 2, 3, 4, 5])
def test_variants_differ_and_rank_by_confidence(count: int) -> None:
    result = OfflineDrafter().draft(_context("hello?", variants=count))
    texts = [v.text for v in result.variants]
    assert len(texts) == count
    assert len(set(texts)) == count
    assert all("Sam" in text for text in texts)
    assert [v.confidence for v in result.variants] == [
        CONFIDENCE[Intent.greeting] - rank * RANK_PENALTY for rank in range(count)
    ]
    assert all(
        v.reason.startswith("greets the fan back (offline template") for v in result.variants
    )
    assert "\n" not in result.variants[0].reason


def test_variants_are_deterministic_per_seed() -> None:
    drafter = OfflineDrafter()
    assert drafter.draft(_context("long day")) == drafter.draft(_context("long day"))
    seeds = {
        tuple(v.text for v in drafter.draft(_context("long day", seed=s)).variants)
        for s in range(6)
    }
    assert len(seeds) > 1


def test_fewer_variants_when_nothing_is_left_to_vary() -> None:
    plain = Persona(tone="warm", emoji_style="none", phrases=[])
    result = OfflineDrafter().draft(_context("why?", variants=5, persona=plain))
    # Three templates, no phrases or emojis to recombine: three different texts.
    assert len({v.text for v in result.variants}) == len(result.variants) == 3
    assert result.variants[0].confidence == CONFIDENCE[Intent.question]
    assert "cannot answer" in result.variants[0].reason


@pytest.mark.parametrize(
    "barred", [{"wellbeing_flagged": True}, {"spend_capped": True}], ids=["flagged", "capped"]
)
def test_a_re_engagement_pitches_no_content_to_a_fan_nothing_may_be_sold_to(
    barred: dict[str, bool],
) -> None:
    persona = Persona(name="Mia", tone="professional", emoji_style="none")

    def texts(**flags: bool) -> set[str]:
        return {
            variant.text
            for seed in range(10)
            for variant in OfflineDrafter()
            .draft(replace(_context("", persona=persona, seed=seed), kind="re_engage", **flags))
            .variants
        }

    assert any("new content" in text for text in texts())
    unsold = texts(**barred)
    assert not any("content" in text for text in unsold)
    # The pitch is replaced by a plain check-in, not dropped.
    assert any(text.startswith("Hello Sam, just reaching out to say hi. I hope") for text in unsold)
