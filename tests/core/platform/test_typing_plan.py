"""The typing plan: every grapheme in order, bounded delays, reproducible, human speed, and
typo corrections that never change the final text nor touch numbers, prices, URLs or emoji."""

from __future__ import annotations

import random
import statistics

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.platform.profiles import TypingProfile
from core.platform.typing_plan import (
    PAUSE_JITTER,
    QWERTY_NEIGHBOURS,
    THINK_JITTER,
    KeyStep,
    TypingPlan,
    comparable_text,
    dwell_s,
    graphemes,
    max_step_delay_s,
    normalise_text,
    plan_typing,
    seed_for,
    typo_candidates,
)

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # man, woman, girl, boy
FLAG = "\U0001f1eb\U0001f1f7"  # France
THUMBS_MEDIUM = "\U0001f44d\U0001f3fd"  # thumbs up, medium skin tone
RED_HEART = "\u2764\ufe0f"  # heart with emoji presentation selector
CLUSTERS = [FAMILY, FLAG, THUMBS_MEDIUM, RED_HEART, "e\u0301", "\r\n", "\n", "\r"]

texts = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(CLUSTERS)), max_size=12).map(
    "".join
)
seeds = st.integers(min_value=0, max_value=2**64 - 1)


@st.composite
def profiles(draw: st.DrawFn) -> TypingProfile:
    """Any valid profile, including extreme speeds, spreads and pauses."""
    min_key = draw(st.floats(0, 0.3))
    return TypingProfile(
        chars_per_minute=draw(st.floats(10, 2000)),
        cpm_spread=draw(st.floats(0, 0.95)),
        key_sigma=draw(st.floats(0, 2)),
        min_key_delay_s=min_key,
        max_key_delay_s=draw(st.floats(max(min_key, 0.001), 3)),
        shift_key_factor=draw(st.floats(1, 3)),
        digit_key_factor=draw(st.floats(1, 3)),
        word_pause_s=draw(st.floats(0, 2)),
        punctuation_pause_s=draw(st.floats(0, 2)),
        typo_rate=draw(st.sampled_from([0.0, 0.02]) | st.floats(0, 0.5)),
        typo_notice_s=draw(st.floats(0, 2)),
        think_base_s=draw(st.floats(0, 5)),
        think_per_char_s=draw(st.floats(0, 0.2)),
        think_max_s=draw(st.floats(0, 20)),
        newline_key=draw(st.sampled_from(["Shift+Enter", "Enter"])),
    )


@settings(max_examples=200, deadline=None)
@given(text=texts, profile=profiles(), seed=seeds, inbound=st.integers(0, 5000))
def test_every_grapheme_arrives_in_order_within_bounds(
    text: str, profile: TypingProfile, seed: int, inbound: int
) -> None:
    plan = plan_typing(text, profile, seed, inbound_chars=inbound)
    assert plan.text == normalise_text(text)
    assert _final_graphemes(plan) == graphemes(text)
    _assert_corrections_well_formed(plan)
    assert "\r" not in plan.text
    upper = max_step_delay_s(profile)
    for step in plan.steps:
        assert profile.min_key_delay_s <= step.delay_s <= upper
    assert 0 <= plan.think_s <= profile.think_max_s
    assert plan.expected_duration_s == pytest.approx(
        plan.think_s + sum(step.delay_s for step in plan.steps)
    )


def _final_graphemes(plan: TypingPlan) -> list[str]:
    """What the composer holds after every step, grapheme by grapheme."""
    typed: list[str] = []
    for step in plan.steps:
        if step.kind == "backspace":
            typed.pop()
        else:
            typed.append(step.grapheme)
    return typed


def _assert_corrections_well_formed(plan: TypingPlan) -> None:
    """Each Backspace erases a QWERTY neighbour (same case) of the letter typed next."""
    steps = plan.steps
    for i, step in enumerate(steps):
        if step.kind != "backspace":
            continue
        assert step.grapheme == ""
        wrong, right = steps[i - 1], steps[i + 1]
        assert wrong.kind == right.kind == "type"
        assert wrong.grapheme.lower() in QWERTY_NEIGHBOURS[right.grapheme.lower()]
        assert wrong.grapheme.isupper() == right.grapheme.isupper()


PROTECTED = [
    "$12.50",
    "$1,200",
    "€9",
    "20%",
    "9pm",
    "24/7",
    "555-0134",
    "https://example.com/pics?id=7",
    "www.Example.com",
    "shop.example.io",
    "me@example.com",
    "@janedoe",
    FAMILY,
    FLAG,
    THUMBS_MEDIUM,
    RED_HEART,
    "😘",
]
WORDS = ["hey", "Babe", "thanks", "SO", "much", "tonight", "new", "set", "okay", "love"]
mixed_texts = st.lists(st.sampled_from(PROTECTED + WORDS), min_size=1, max_size=14).flatmap(
    lambda tokens: st.lists(
        st.sampled_from([" ", "  ", "\n", ", ", "! "]), min_size=len(tokens), max_size=len(tokens)
    ).map(lambda gaps: "".join(t + g for t, g in zip(tokens, gaps, strict=True)))
)


@settings(max_examples=300, deadline=None)
@given(text=mixed_texts, seed=seeds, rate=st.floats(0.05, 0.5))
def test_corrections_never_touch_numbers_prices_urls_or_emoji(
    text: str, seed: int, rate: float
) -> None:
    plan = plan_typing(text, TypingProfile(typo_rate=rate), seed)
    assert plan.text == text
    _assert_corrections_well_formed(plan)
    # Replay the plan and note the word each slip lands in: never a protected token.
    typed: list[str] = []
    for i, step in enumerate(plan.steps):
        if step.kind == "backspace":
            typed.pop()
            continue
        if i + 1 < len(plan.steps) and plan.steps[i + 1].kind == "backspace":
            position = len(typed)
            final = graphemes(text)
            start = position
            while start > 0 and not final[start - 1].isspace():
                start -= 1
            end = position
            while end < len(final) and not final[end].isspace():
                end += 1
            token = "".join(final[start:end]).strip(",!")
            assert token in WORDS, (token, text)
        typed.append(step.grapheme)


def test_typo_candidates_are_letters_outside_protected_tokens() -> None:
    keys = graphemes("Hi at 9pm, $5 or www.x.com ok? é😘")
    allowed = "".join("^" if flag else "." for flag in typo_candidates(keys))
    assert allowed == "^^.^^.........^^...........^^....", allowed


def test_typo_rate_zero_means_no_corrections() -> None:
    profile = TypingProfile(typo_rate=0)
    assert all(plan_typing(LONG_TEXT, profile, seed).corrections == 0 for seed in range(5))


def test_corrections_happen_at_the_profile_rate() -> None:
    profile = TypingProfile(typo_rate=0.05)
    candidates = sum(typo_candidates(graphemes(LONG_TEXT)))
    made = sum(plan_typing(LONG_TEXT, profile, seed).corrections for seed in range(40))
    assert made / (40 * candidates) == pytest.approx(0.05, rel=0.1)


def test_a_correction_pauses_to_notice_before_backspace() -> None:
    profile = TypingProfile(typo_rate=0.5, key_sigma=0, cpm_spread=0, typo_notice_s=0.6)
    plan = plan_typing("typing some words here", profile, seed=11)
    backspaces = [step for step in plan.steps if step.kind == "backspace"]
    assert backspaces
    plain_keys = [step.delay_s for step in plan.steps if step.delay_s < 0.3]
    low, high = PAUSE_JITTER
    for step in backspaces:
        notice = step.delay_s - min(plain_keys)
        assert 0.6 * low <= notice + 1e-9 and notice <= 0.6 * high + 1e-9


@settings(max_examples=100, deadline=None)
@given(text=texts, profile=profiles(), seed=seeds)
def test_same_seed_same_plan(text: str, profile: TypingProfile, seed: int) -> None:
    assert plan_typing(text, profile, seed) == plan_typing(text, profile, seed)


@settings(max_examples=100, deadline=None)
@given(text=st.text(min_size=1, max_size=40), a=seeds, b=seeds)
def test_different_seeds_differ(text: str, a: int, b: int) -> None:
    if a == b:
        return
    profile = TypingProfile()
    assert plan_typing(text, profile, a) != plan_typing(text, profile, b)


@pytest.mark.parametrize("cluster", [FAMILY, FLAG, THUMBS_MEDIUM, RED_HEART, "e\u0301"])
def test_emoji_and_combining_sequences_are_one_step(cluster: str) -> None:
    plan = plan_typing(f"a{cluster}b", TypingProfile(typo_rate=0), seed=1)
    assert [step.grapheme for step in plan.steps] == ["a", cluster, "b"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_newline_is_one_step(newline: str) -> None:
    plan = plan_typing(f"hi{newline}there", TypingProfile(typo_rate=0), seed=2)
    assert [step.grapheme for step in plan.steps] == ["h", "i", "\n", *"there"]


def test_plan_is_frozen_and_text_joins_steps() -> None:
    plan = TypingPlan((KeyStep("o", 0.1), KeyStep("k", 0.2)), think_s=1.0, seed=0)
    assert plan.text == "ok"
    assert plan.expected_duration_s == pytest.approx(1.3)
    corrected = TypingPlan(
        (KeyStep("o", 0.1), KeyStep("j", 0.2), KeyStep("", 0.5, "backspace"), KeyStep("k", 0.2)),
        think_s=1.0,
        seed=0,
    )
    assert corrected.text == "ok" and corrected.corrections == 1
    assert corrected.expected_duration_s == pytest.approx(2.0)
    with pytest.raises(AttributeError):
        plan.think_s = 2.0  # type: ignore[misc]


LONG_TEXT = (
    "Hey! Thanks so much for the message, it honestly made my day. I'm glad you liked the "
    "new set; there's more coming on Friday at 9pm. Tell me what you'd love to see next? "
) * 12


def _chars_per_minute(plan: TypingPlan) -> float:
    """Characters of the final text per minute of typing, corrections included."""
    return len(graphemes(plan.text)) / sum(step.delay_s for step in plan.steps) * 60


def test_speed_matches_profile_over_a_long_text() -> None:
    # Without typos: how many corrections one message gets is itself random (the mean
    # over many messages, corrections included, is the next test's subject).
    profile = TypingProfile(cpm_spread=0, typo_rate=0)
    for seed in range(5):
        speed = _chars_per_minute(plan_typing(LONG_TEXT, profile, seed))
        assert speed == pytest.approx(profile.chars_per_minute, rel=0.03)


def test_mean_speed_across_messages_matches_profile() -> None:
    profile = TypingProfile(chars_per_minute=300, cpm_spread=0.3)
    speeds = [_chars_per_minute(plan_typing(LONG_TEXT, profile, seed)) for seed in range(100)]
    assert statistics.fmean(speeds) == pytest.approx(300, rel=0.03)
    # The per-message speed does vary: messages are not all typed at one rate.
    assert statistics.pstdev(speeds) > 300 * 0.05


def test_shifted_keys_digits_and_pauses_are_slower() -> None:
    profile = TypingProfile(cpm_spread=0, key_sigma=0, typo_rate=0)
    a, upper, a2, digit, space, b, comma, space2, c = plan_typing("aAa5 b, c", profile, 3).steps
    key = a.delay_s
    assert a2.delay_s == pytest.approx(key)
    assert upper.delay_s == pytest.approx(key * profile.shift_key_factor)
    assert digit.delay_s == pytest.approx(key * profile.digit_key_factor)
    assert space.delay_s == pytest.approx(key)  # no pause after a digit
    low, high = PAUSE_JITTER
    word_pause = b.delay_s - key
    assert profile.word_pause_s * low <= word_pause <= profile.word_pause_s * high
    assert comma.delay_s == pytest.approx(key)  # the pause comes after the comma, not before
    clause_pause = space2.delay_s - key
    assert profile.punctuation_pause_s * low <= clause_pause <= profile.punctuation_pause_s * high
    assert c.delay_s > key


def test_think_grows_with_reading_and_is_capped() -> None:
    profile = TypingProfile()
    short = plan_typing("ok", profile, seed=4, inbound_chars=0).think_s
    longer = plan_typing("ok", profile, seed=4, inbound_chars=200).think_s
    capped = plan_typing("ok", profile, seed=4, inbound_chars=100_000).think_s
    nominal = profile.think_base_s + profile.think_per_char_s * 2
    assert nominal * THINK_JITTER[0] <= short <= nominal * THINK_JITTER[1]
    assert longer > short
    assert capped <= profile.think_max_s


def test_negative_inbound_chars_rejected() -> None:
    with pytest.raises(ValueError, match="inbound_chars"):
        plan_typing("ok", TypingProfile(), seed=0, inbound_chars=-1)


def test_empty_text_is_only_thinking() -> None:
    plan = plan_typing("", TypingProfile(), seed=5)
    assert plan.steps == ()
    assert plan.expected_duration_s == plan.think_s


@given(seed=seeds)
def test_dwell_within_profile_bounds(seed: int) -> None:
    profile = TypingProfile(dwell_min_s=0.4, dwell_max_s=1.1)
    assert 0.4 <= dwell_s(profile, random.Random(seed)) <= 1.1


def test_seed_for_is_stable_and_distinguishes_parts() -> None:
    # A fixed value: a send's seed must not change between processes or releases.
    assert seed_for("send", 42, 1) == 0xB359E82B1513C176
    assert seed_for("1") != seed_for(1)
    assert seed_for("ab", "c") != seed_for("a", "bc")
    assert seed_for("send", 42, 1) != seed_for("send", 42, 2)
    assert 0 <= seed_for() < 2**64


@pytest.mark.parametrize(
    ("rendered", "typed"),
    [
        ("see you\ntonight", "see you\r\ntonight"),
        ("see you tonight", "see  you   tonight "),
        ("Café", "Cafe\u0301"),
        ("a\n\nb", "a\n\nb\n"),
        ("tab\there", "tab here"),
    ],
)
def test_comparable_text_matches_what_a_page_shows_of_what_was_typed(
    rendered: str, typed: str
) -> None:
    assert comparable_text(rendered) == comparable_text(typed)


def test_comparable_text_keeps_line_breaks_apart_from_spaces() -> None:
    assert comparable_text("see you\ntonight") != comparable_text("see you tonight")


@given(st.text(max_size=80))
def test_a_plans_text_compares_as_the_text_it_was_planned_from(text: str) -> None:
    plan = plan_typing(text, TypingProfile(), seed=1)
    assert comparable_text(plan.text) == comparable_text(text)
