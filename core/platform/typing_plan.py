"""Human typing as a pure, seeded plan: which grapheme to type, and how long to wait first.

A plan is computed before the first key is pressed and holds human (unscaled) seconds; the
worker replays it key by key, scaling each delay by the fleet's time scale. Nothing here
touches a browser or a clock, so a send's plan can be rebuilt from its seed anywhere.

`chars_per_minute` is the rate an observer would measure, in characters of the final text:
the key delays are centred so that keys plus the expected word and punctuation pauses and
the expected typo corrections average to it (when that key time lies within
`[min_key_delay_s, max_key_delay_s]`; outside it the clamp wins).

A correction is three steps: a QWERTY neighbour of the intended letter, a Backspace after a
noticing pause, and the intended letter. Only ASCII letters in tokens without digits, "://",
"www.", "@" or a domain-like dot can slip, so prices, numbers, URLs, handles and emoji are
always typed straight.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from dataclasses import dataclass
from typing import Literal

import regex

from core.platform.profiles import TypingProfile

_GRAPHEME = regex.compile(r"\X")
_PUNCTUATION = regex.compile(r"\p{P}")
# Symbols that need Shift on a US layout; capitals are recognised by `str.isupper`.
_SHIFT_SYMBOLS = frozenset('~!@#$%^&*()_+{}|:"<>?')
# A whitespace-delimited token holding any of these is typed without typos: a number or a
# price (a digit), a URL ("://", "www.", "name.tld"), an e-mail address or a handle ("@").
# A slip there would put a wrong figure or a dead link in front of the fan for a moment.
_NO_TYPO_TOKEN = regex.compile(r"\d|://|(?i:www\.)|@|[A-Za-z0-9]\.[A-Za-z]{2}")
_QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


def _qwerty_neighbours() -> dict[str, str]:
    """Each letter's adjacent keys on a staggered US QWERTY keyboard.

    A row sits half a key right of the row above, so key `i` touches keys `i` and `i + 1`
    of the row above and keys `i - 1` and `i` of the row below.
    """
    neighbours = {}
    for row_index, row in enumerate(_QWERTY_ROWS):
        for i, letter in enumerate(row):
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            if row_index > 0:
                above = _QWERTY_ROWS[row_index - 1]
                near += [above[j] for j in (i, i + 1) if j < len(above)]
            if row_index + 1 < len(_QWERTY_ROWS):
                below = _QWERTY_ROWS[row_index + 1]
                near += [below[j] for j in (i - 1, i) if 0 <= j < len(below)]
            neighbours[letter] = "".join(near)
    return neighbours


QWERTY_NEIGHBOURS = _qwerty_neighbours()
"""Lowercase letter -> the letters next to it on a US QWERTY keyboard (the plausible slips)."""

PAUSE_JITTER = (0.5, 1.5)
"""Word and punctuation pauses are drawn uniformly between these multiples of their mean."""

THINK_JITTER = (0.8, 1.2)
"""The thinking pause is drawn uniformly between these multiples of its nominal length."""


def normalise_text(text: str) -> str:
    """`text` with "\\r\\n" and lone "\\r" turned into "\\n", the only line break a plan types.

    A lone carriage return would otherwise reach the composer as Enter, which sends.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n")


def comparable_text(text: str) -> str:
    """`text` as the fleet compares a message typed with one read back from a page: line
    breaks kept (as "\\n"), Unicode composed (NFC), and within each line runs of whitespace
    as one space, with none at either end, and no blank lines at the ends. A page shows
    text with its spaces collapsed and may decompose accents; a platform may keep "\\r\\n".
    Both sides go through this, so a message an earlier attempt typed is found again."""
    lines = normalise_text(unicodedata.normalize("NFC", text)).split("\n")
    return "\n".join(" ".join(line.split()) for line in lines).strip("\n")


def graphemes(text: str) -> list[str]:
    """The user-perceived characters of `text` (normalised): one key step each.

    ZWJ sequences, flags, skin-tone modifiers and emoji with variation selectors stay whole.
    """
    return _GRAPHEME.findall(normalise_text(text))


StepKind = Literal["type", "backspace"]


@dataclass(frozen=True)
class KeyStep:
    """One key after waiting `delay_s` human seconds: type `grapheme`, or (kind
    "backspace", `grapheme` "") erase the grapheme typed last."""

    grapheme: str
    delay_s: float
    kind: StepKind = "type"


@dataclass(frozen=True)
class TypingPlan:
    """A whole message: think for `think_s`, then press `steps` in order."""

    steps: tuple[KeyStep, ...]
    think_s: float
    seed: int

    @property
    def text(self) -> str:
        """The text in the composer after every step: the normalised input."""
        typed: list[str] = []
        for step in self.steps:
            if step.kind == "backspace":
                typed.pop()
            else:
                typed.append(step.grapheme)
        return "".join(typed)

    @property
    def corrections(self) -> int:
        """How many typos the plan makes and erases (one Backspace each)."""
        return sum(step.kind == "backspace" for step in self.steps)

    @property
    def expected_duration_s(self) -> float:
        """Human seconds from the start of thinking to the last key."""
        return self.think_s + sum(step.delay_s for step in self.steps)


def max_step_delay_s(profile: TypingProfile) -> float:
    """Upper bound of any `KeyStep.delay_s` under `profile`.

    A key's own time is clamped to `[min_key_delay_s, max_key_delay_s]`; at most one pause
    (word, punctuation, or noticing a typo before Backspace) is added on top, and a pause is
    at most `PAUSE_JITTER[1]` times its mean. So every delay lies in
    `[min_key_delay_s, max_step_delay_s(profile)]`.
    """
    longest_pause = max(profile.word_pause_s, profile.punctuation_pause_s, profile.typo_notice_s)
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


PauseKind = Literal["word", "punctuation"]


def pause_kind(previous: str | None, grapheme: str) -> PauseKind | None:
    """The pause a person makes before `grapheme` when `previous` came just before, if any.

    The punctuation pause comes before the whitespace that ends a clause ("Hi, there"), not
    inside words ("don't", "a.b"); the word pause before the first key of the next word.
    """
    if previous is None:
        return None
    if grapheme.isspace() and _PUNCTUATION.match(previous):
        return "punctuation"
    if previous.isspace() and not grapheme.isspace():
        return "word"
    return None


def _pause_mean(previous: str | None, grapheme: str, profile: TypingProfile) -> float:
    """Mean extra pause before `grapheme`: at most one of word or punctuation pause."""
    kind = pause_kind(previous, grapheme)
    if kind == "word":
        return profile.word_pause_s
    if kind == "punctuation":
        return profile.punctuation_pause_s
    return 0.0


def typo_candidates(keys: list[str]) -> list[bool]:
    """For each grapheme of `keys`, whether a typo may be planned there.

    Only ASCII letters can slip (a neighbour key exists), and only outside tokens that
    `_NO_TYPO_TOKEN` protects: numbers, prices, URLs, addresses and handles.
    """
    allowed = [key.isascii() and key.lower() in QWERTY_NEIGHBOURS for key in keys]
    start = 0
    while start < len(keys):
        if keys[start].isspace():
            start += 1
            continue
        end = start
        while end < len(keys) and not keys[end].isspace():
            end += 1
        if _NO_TYPO_TOKEN.search("".join(keys[start:end])):
            allowed[start:end] = [False] * (end - start)
        start = end
    return allowed


def plan_typing(text: str, profile: TypingProfile, seed: int, inbound_chars: int = 0) -> TypingPlan:
    """Plan typing `text` like a person, reproducibly from `seed`.

    `inbound_chars` is the length of the message being answered: reading it lengthens the
    thinking pause, `min(think_max_s, think_base_s + think_per_char_s * characters)` with
    `THINK_JITTER`, capped again at `think_max_s`. Key delays are log-normal (sigma
    `key_sigma`) around a per-message speed drawn around `chars_per_minute` (triangular,
    `±cpm_spread`), slowed for Shift keys and digits; see `max_step_delay_s` for bounds.
    Each `typo_candidates` letter is mistyped with probability `typo_rate` (see the module
    docstring); the plan's `text` is always the normalised input.
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
    slips = typo_candidates(keys)
    # A correction costs a noticing pause plus a Backspace (factor 1) and the key again.
    typo_pause = profile.typo_rate * profile.typo_notice_s * sum(slips)
    typo_keys = profile.typo_rate * sum(
        1 + f for f, slip in zip(factors, slips, strict=True) if slip
    )
    # Centre key time so keys plus expected pauses and corrections match the drawn speed;
    # when pauses alone use up the budget, keys go as fast as allowed and the message runs
    # slower.
    budget_s = len(keys) * 60.0 / (profile.chars_per_minute * speed)
    unit_s = profile.min_key_delay_s
    if keys:
        unit_s = max(unit_s, (budget_s - sum(pauses) - typo_pause) / (sum(factors) + typo_keys))
    # mu = -sigma^2/2 makes the log-normal's mean 1, so it scales without biasing speed.
    mu = -(profile.key_sigma**2) / 2

    def key_s(factor: float) -> float:
        drawn = unit_s * factor * rng.lognormvariate(mu, profile.key_sigma)
        return min(profile.max_key_delay_s, max(profile.min_key_delay_s, drawn))

    steps = []
    for key, factor, pause_mean, slip in zip(keys, factors, pauses, slips, strict=True):
        delay_s = key_s(factor)
        if pause_mean:
            delay_s += pause_mean * rng.uniform(*PAUSE_JITTER)
        if slip and rng.random() < profile.typo_rate:
            wrong = rng.choice(QWERTY_NEIGHBOURS[key.lower()])
            steps.append(KeyStep(wrong.upper() if key.isupper() else wrong, delay_s))
            notice_s = profile.typo_notice_s * rng.uniform(*PAUSE_JITTER)
            steps.append(KeyStep("", key_s(1.0) + notice_s, "backspace"))
            delay_s = key_s(factor)
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
