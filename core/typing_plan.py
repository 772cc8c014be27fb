"""Human typing as a pure, seeded plan: which grapheme to type, and how long to wait first.

A plan is computed before the first key is pressed and holds human (unscaled) seconds; the
worker replays it key by key, scaling each delay by the fleet's time scale. Nothing here
touches a browser or a clock, so a send's plan can be rebuilt from its seed anywhere.

`chars_per_minute` is the rate an observer would measure: the key delays are centred so that
keys plus the expected word and punctuation pauses average to it (when that key time lies
within `[min_key_delay_s, max_key_delay_s]`; outside it the clamp wins).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import regex

from core.profiles import TypingProfile

_GRAPHEME = regex.compile(r"\X")
_PUNCTUATION = regex.compile(r"\p{P}")
# Symbols that need Shift on a US layout; capitals are recognised by `str.isupper`.
_SHIFT_SYMBOLS = frozenset('~!@#$%^&*()_+{}|:"<>?')

PAUSE_JITTER = (0.5, 1.5)
"""Word and punctuation pauses are drawn uniformly between these multiples of their mean."""

THINK_JITTER = (0.8, 1.2)
"""The thinking pause is drawn uniformly between these multiples of its nominal length."""


def normalise_text(text: str) -> str:
    """`text` with "\\r\\n" and lone "\\r" turned into "\\n", the only line break a plan types.

    A lone carriage return would otherwise reach the composer as Enter, which sends.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def graphemes(text: str) -> list[str]:
    """The user-perceived characters of `text` (normalised): one key step each.

    ZWJ sequences, flags, skin-tone modifiers and emoji with variation selectors stay whole.
    """
    return _GRAPHEME.findall(normalise_text(text))


@dataclass(frozen=True)
class KeyStep:
    """One grapheme to type, after waiting `delay_s` human seconds."""

    grapheme: str
    delay_s: float


@dataclass(frozen=True)
class TypingPlan:
    """A whole message: think for `think_s`, then type `steps` in order."""

    steps: tuple[KeyStep, ...]
    think_s: float
    seed: int

    @property
    def text(self) -> str:
        """The text the plan types (the normalised input)."""
        return "".join(step.grapheme for step in self.steps)

    @property
    def expected_duration_s(self) -> float:
        """Human seconds from the start of thinking to the last key."""
        return self.think_s + sum(step.delay_s for step in self.steps)


def max_step_delay_s(profile: TypingProfile) -> float:
    """Upper bound of any `KeyStep.delay_s` under `profile`.

    A key's own time is clamped to `[min_key_delay_s, max_key_delay_s]`; at most one pause
    (word or punctuation) is added on top, and a pause is at most `PAUSE_JITTER[1]` times its
    mean. So every delay lies in `[min_key_delay_s, max_step_delay_s(profile)]`.
    """
    longest_pause = max(profile.word_pause_s, profile.punctuation_pause_s)
    return profile.max_key_delay_s + PAUSE_JITTER[1] * longest_pause


def _key_factor(grapheme: str, profile: TypingProfile) -> float:
    """How much slower than a plain lowercase key this grapheme is to type."""
    if grapheme == "\n":
        shifted = "shift" in profile.newline_key.lower()
        return profile.shift_key_factor if shifted else 1.0
    first = grapheme[0]
    if first.isascii() and first.isdigit():
        return profile.digit_key_factor
    # Emoji and other non-letters outside ASCII come from a picker or a compose sequence:
    # at least as slow as a shifted key.
    if first.isupper() or first in _SHIFT_SYMBOLS or not (first.isascii() or first.isalpha()):
        return profile.shift_key_factor
    return 1.0


def _pause_mean(previous: str | None, grapheme: str, profile: TypingProfile) -> float:
    """Mean extra pause before `grapheme`: at most one of word or punctuation pause.

    The punctuation pause comes before the whitespace that ends a clause ("Hi, there"), not
    inside words ("don't", "a.b"); the word pause before the first key of the next word.
    """
    if previous is None:
        return 0.0
    if grapheme.isspace() and _PUNCTUATION.match(previous):
        return profile.punctuation_pause_s
    if previous.isspace() and not grapheme.isspace():
        return profile.word_pause_s
    return 0.0


def plan_typing(text: str, profile: TypingProfile, seed: int, inbound_chars: int = 0) -> TypingPlan:
    """Plan typing `text` like a person, reproducibly from `seed`.

    `inbound_chars` is the length of the message being answered: reading it lengthens the
    thinking pause, `min(think_max_s, think_base_s + think_per_char_s * characters)` with
    `THINK_JITTER`, capped again at `think_max_s`. Key delays are log-normal (sigma
    `key_sigma`) around a per-message speed drawn around `chars_per_minute` (triangular,
    `±cpm_spread`), slowed for Shift keys and digits; see `max_step_delay_s` for bounds.
    """
    if inbound_chars < 0:
        raise ValueError("inbound_chars must not be negative")
    rng = random.Random(seed)
    keys = graphemes(text)
    speed = rng.triangular(1 - profile.cpm_spread, 1 + profile.cpm_spread, 1)
    nominal_think = min(
        profile.think_max_s,
        profile.think_base_s + profile.think_per_char_s * (inbound_chars + len(keys)),
    )
    think_s = min(profile.think_max_s, nominal_think * rng.uniform(*THINK_JITTER))

    factors = [_key_factor(key, profile) for key in keys]
    pauses = [_pause_mean(keys[i - 1] if i else None, key, profile) for i, key in enumerate(keys)]
    # Centre key time so keys plus expected pauses match the drawn speed; when pauses alone
    # use up the budget, keys go as fast as allowed and the message runs slower.
    budget_s = len(keys) * 60.0 / (profile.chars_per_minute * speed)
    unit_s = profile.min_key_delay_s
    if keys:
        unit_s = max(unit_s, (budget_s - sum(pauses)) / sum(factors))
    # mu = -sigma^2/2 makes the log-normal's mean 1, so it scales without biasing speed.
    mu = -(profile.key_sigma**2) / 2

    steps = []
    for key, factor, pause_mean in zip(keys, factors, pauses, strict=True):
        key_s = unit_s * factor * rng.lognormvariate(mu, profile.key_sigma)
        delay_s = min(profile.max_key_delay_s, max(profile.min_key_delay_s, key_s))
        if pause_mean:
            delay_s += pause_mean * rng.uniform(*PAUSE_JITTER)
        steps.append(KeyStep(key, delay_s))
    return TypingPlan(tuple(steps), think_s, seed)


def dwell_s(profile: TypingProfile, rng: random.Random) -> float:
    """A human pause between UI actions (open a thread, click, send), in human seconds."""
    return rng.uniform(profile.dwell_min_s, profile.dwell_max_s)


def seed_for(*parts: str | int) -> int:
    """A 64-bit seed derived from `parts`, identical in every process and Python version.

    Each part is hashed with its type and length, so ("1",) and (1,), or ("ab", "c") and
    ("a", "bc"), give different seeds. `hash()` is salted per process, hence sha256.
    """
    digest = hashlib.sha256()
    for part in parts:
        token = f"{type(part).__name__}:{part}".encode()
        digest.update(len(token).to_bytes(8, "big"))
        digest.update(token)
    return int.from_bytes(digest.digest()[:8], "big")
