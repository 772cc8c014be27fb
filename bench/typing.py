"""Statistics of generated typing plans against their targets: `python -m bench.typing`.

Plans are generated for a corpus of realistic fan messages and creator replies (emoji,
ZWJ sequences, line breaks, prices, times, URLs) with the sandbox profile's `[typing]`
section, and measured as an observer would:

- characters per minute of the final text over the typing time (the thinking pause
  excluded), against `chars_per_minute`;
- the coefficient of variation of the intervals between keystrokes, the sandbox's
  regularity measure, and what the sandbox's cadence guards (at their defaults) say of
  each plan played at exactly its planned times;
- word, punctuation, thinking and correction pauses per 100 characters;
- corrections per typo-eligible letter, against `typo_rate`;
- plan durations (thinking included).

Human-readable lines first, then one JSON line with the figures. Pure computation: no
browser, no clock, seconds are human seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from core.analytics.stats import percentile
from core.platform.profiles import TypingProfile, load_profile
from core.platform.typing_plan import TypingPlan, graphemes, pause_kind, plan_typing, seed_for
from core.platform.typing_plan import typo_candidates as typo_candidate_flags
from sandbox.cadence import CadenceEvent, assess
from sandbox.config import SandboxConfig
from sandbox.guards import Guards

DEFAULT_PROFILE = Path("browser_profiles/sandbox.toml")


@dataclass(frozen=True)
class Exchange:
    """A fan's message and the creator's reply to it."""

    inbound: str
    reply: str


CORPUS: tuple[Exchange, ...] = (
    Exchange("hey gorgeous", "Hey you! 😘 How's your day going?"),
    Exchange("good morning!!", "Good morning babe ☀️ did you sleep well?"),
    Exchange(
        "how much is the new video?",
        "The new one is $25 and it's 12 minutes long 🔥 I think you'll love it",
    ),
    Exchange("can I get a custom?", "Customs start at $50.\nTell me what you have in mind 💭"),
    Exchange(
        "where else can I find you", "Everything is right here, check https://example.com/me ❤️"
    ),
    Exchange("miss you", "Aww I missed you too 🥺 where have you been hiding?"),
    Exchange(
        "just tipped you",
        "Thank you so much for the $10 tip!! 👨‍👩‍👧‍👦 my whole family of plants says thanks lol",
    ),
    Exchange("what are you up to tonight", "Just got back from the gym and I'm exhausted lol"),
    Exchange(
        "when is the next live?",
        "Friday at 9pm EST 🗓️\nI'll send a reminder an hour before, don't be late!",
    ),
    Exchange("ok", "ok 👍"),
    Exchange(
        "I had a really rough week at work, my boss keeps piling things on me and I barely "
        "sleep. talking to you is honestly the best part of my day",
        "I'm so sorry your week has been that hard 😔 You deserve a break, and some real "
        "sleep. I'm always happy to chat, but please take care of yourself too, okay?",
    ),
    Exchange("do you like football", "Not really haha, but I'd watch a game with you 🏈"),
    Exchange(
        "is the bundle still on sale", "Yes! 3 sets for $39.99 until Sunday, then back to $60"
    ),
    Exchange("🇫🇷", "Bonjour 🇫🇷 I've always wanted to visit Paris"),
    Exchange(
        "what's your favourite food",
        "Sushi, always sushi 🍣 and pizza on Sundays. What about you?",
    ),
    Exchange("you're so pretty", "Stop it, you're making me blush ☺️"),
    Exchange(
        "can you send the link again",
        "Sure, here it is: www.example.com/bundle?ref=vip\nIt's good for 24 hours",
    ),
    Exchange("haha", "hahaha you're too funny"),
    Exchange(
        "did you get my message yesterday?",
        "I did, sorry for the slow reply! Yesterday was crazy. Thank you for being patient 💕",
    ),
    Exchange("night", "Good night, sweet dreams 🌙✨"),
    Exchange(
        "how long have you been doing this",
        "Almost 2 years now! It started as a hobby and I've loved every minute of it.\n"
        "Having people like you around makes it even better 😊",
    ),
    Exchange("whats new", "New set drops tomorrow at 6pm, it's my favourite one yet 📸"),
    Exchange("👍", "👋 hi again!"),
    Exchange("can we video call", "I don't do calls, sorry babe. But I read every message 💌"),
)
"""Fan messages and replies of the kinds the fleet types: short and long, emoji (ZWJ
sequences and flags among them), line breaks, prices, times, URLs."""


@dataclass(frozen=True)
class PlanFigures:
    """What one plan measures."""

    characters: int
    cpm: float
    cv: float
    intervals: int
    word_pauses: int
    punctuation_pauses: int
    corrections: int
    typo_candidates: int
    duration_s: float
    flags: tuple[str, ...]


def key_intervals(plan: TypingPlan) -> list[float]:
    """Seconds between consecutive keystrokes (the first key's delay follows thinking, so
    it is no interval between keys)."""
    return [step.delay_s for step in plan.steps[1:]]


def measure(plan: TypingPlan, guards: Guards) -> PlanFigures:
    """Figures of `plan`, and the sandbox's flags for it played at its planned times."""
    final = graphemes(plan.text)
    typing_s = sum(step.delay_s for step in plan.steps)
    intervals = key_intervals(plan)
    mean = statistics.fmean(intervals) if intervals else 0.0
    cv = statistics.pstdev(intervals) / mean if mean > 0 else 0.0
    kinds = [pause_kind(final[i - 1] if i else None, key) for i, key in enumerate(final)]
    # At the guards' time scale a human second lasts `time_scale` real seconds.
    now_ms = plan.think_s * guards.time_scale * 1000
    cadence = []
    for step in plan.steps:
        now_ms += step.delay_s * guards.time_scale * 1000
        typed = step.kind == "type"
        cadence.append(
            CadenceEvent(
                t_ms=now_ms,
                graphemes=1 if typed else 0,
                input_type="insertText" if typed else "deleteContentBackward",
            )
        )
    return PlanFigures(
        characters=len(final),
        cpm=len(final) / typing_s * 60 if typing_s > 0 else 0.0,
        cv=cv,
        intervals=len(intervals),
        word_pauses=kinds.count("word"),
        punctuation_pauses=kinds.count("punctuation"),
        corrections=plan.corrections,
        typo_candidates=sum(typo_candidate_flags(final)),
        duration_s=plan.expected_duration_s,
        flags=tuple(flag.reason for flag in assess(plan.text, cadence, guards)),
    )


def run(
    corpus: Sequence[Exchange], profile: TypingProfile, plans: int, seed: int
) -> dict[str, Any]:
    """Generate `plans` plans over `corpus` (cycled) and return the summary figures."""
    guards = Guards.from_config(SandboxConfig(db_path=Path("unused.db")))
    figures = []
    for i in range(plans):
        exchange = corpus[i % len(corpus)]
        plan = plan_typing(
            exchange.reply,
            profile,
            seed_for("bench.typing", seed, i),
            inbound_chars=len(graphemes(exchange.inbound)),
        )
        figures.append(measure(plan, guards))
    characters = sum(f.characters for f in figures)
    judged = [f for f in figures if f.intervals >= guards.min_intervals]
    per_100 = 100 / characters
    durations = [f.duration_s for f in figures]
    return {
        "bench": "typing",
        "plans": plans,
        "characters": characters,
        "cpm_target": profile.chars_per_minute,
        "cpm_mean": statistics.fmean(f.cpm for f in figures),
        "cpm_p5": percentile([f.cpm for f in figures], 0.05),
        "cpm_p95": percentile([f.cpm for f in figures], 0.95),
        "cv_mean": statistics.fmean(f.cv for f in judged) if judged else None,
        "cv_p5": percentile([f.cv for f in judged], 0.05) if judged else None,
        "cv_min": min(f.cv for f in judged) if judged else None,
        "cv_flag_below": guards.min_interval_cv,
        "pauses_per_100_chars": {
            "word": sum(f.word_pauses for f in figures) * per_100,
            "punctuation": sum(f.punctuation_pauses for f in figures) * per_100,
            "thinking": plans * per_100,
            "correction": sum(f.corrections for f in figures) * per_100,
        },
        "typo_rate": profile.typo_rate,
        "correction_rate": sum(f.corrections for f in figures)
        / max(1, sum(f.typo_candidates for f in figures)),
        "duration_s": {
            "p5": percentile(durations, 0.05),
            "p50": percentile(durations, 0.5),
            "p95": percentile(durations, 0.95),
            "max": max(durations),
        },
        "sandbox_judged": len(judged),
        "sandbox_flagged": sum(bool(f.flags) for f in figures),
    }


def report(summary: dict[str, Any], out: TextIO) -> None:
    """Print `summary` as readable lines, then as one JSON line."""
    pauses = summary["pauses_per_100_chars"]
    durations = summary["duration_s"]
    lines = [
        f"plans: {summary['plans']} over {summary['characters']} characters",
        f"characters per minute: mean {summary['cpm_mean']:.0f}"
        f" (p5 {summary['cpm_p5']:.0f}, p95 {summary['cpm_p95']:.0f})"
        f" against the profile's {summary['cpm_target']:g}",
    ]
    if summary["cv_mean"] is not None:
        lines.append(
            f"key-interval CV over {summary['sandbox_judged']} judged plans: mean"
            f" {summary['cv_mean']:.2f}, p5 {summary['cv_p5']:.2f}, min {summary['cv_min']:.2f}"
            f" (the sandbox flags below {summary['cv_flag_below']:g})"
        )
    lines += [
        f"pauses per 100 characters: word {pauses['word']:.1f}, punctuation"
        f" {pauses['punctuation']:.1f}, thinking {pauses['thinking']:.1f},"
        f" correction {pauses['correction']:.1f}",
        f"corrections per eligible letter: {summary['correction_rate']:.4f}"
        f" against typo_rate {summary['typo_rate']:g}",
        f"plan duration (s): p5 {durations['p5']:.1f}, p50 {durations['p50']:.1f},"
        f" p95 {durations['p95']:.1f}, max {durations['max']:.1f}",
        f"flagged by the sandbox's cadence guards: {summary['sandbox_flagged']}"
        f" of {summary['plans']}",
    ]
    for line in lines:
        print(line, file=out)
    print(json.dumps(summary, sort_keys=True), file=out)


def main(
    argv: Sequence[str] | None = None,
    corpus: Sequence[Exchange] = CORPUS,
    out: TextIO = sys.stdout,
) -> dict[str, Any]:
    """Run the benchmark from command-line arguments; print and return the summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.typing", description=__doc__)
    parser.add_argument("--plans", type=int, default=2000, help="plans to generate")
    parser.add_argument("--seed", type=int, default=0, help="seed of the whole run")
    parser.add_argument(
        "--profile", type=Path, default=DEFAULT_PROFILE, help="browser profile to read [typing]"
    )
    args = parser.parse_args(argv)
    if args.plans < 1:
        parser.error("--plans must be at least 1")
    summary = run(corpus, load_profile(args.profile).typing, args.plans, args.seed)
    report(summary, out)
    return summary


if __name__ == "__main__":
    main()
