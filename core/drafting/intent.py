"""The offline reading of a fan's message: which draft kind it calls for (a sales
opportunity, a tip to thank, a plain reply) with a confidence, and, for a reply, what the
fan did (complimented, asked, greeted) so a template can answer it.

The kind comes from scored signals, as data (`SALES_SIGNALS`): an explicit ask for content
("what do you have for me", "send me more", "any new vids?") weighs `ASK`, a hint
("tonight", a smirk emoji, "naughty") weighs `HINT`. Each signal counts once; a score of
`SALES_THRESHOLD` makes the message a `ppv_offer` with the score (at most
`MAX_CONFIDENCE`) as its confidence, so one ask, or three hints together, is a sales
opportunity and one hint alone is not. Below it, a mention of a tip makes a `tip_thanks`;
anything else is a `reply`, as sure as the sales score is low. A tip that came with the
message is a fact, not a guess: the caller decides that one (`KindSource.rule`).

When an LLM drafts, it classifies the message itself (`core.drafting.prompt`); this
heuristic is what stands when it does not, or when drafting falls back to offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from core.drafting.base import Detection
from core.enums import DraftKind, KindSource

ASK = 60
HINT = 20
SALES_THRESHOLD = 50
MAX_CONFIDENCE = 95
# A heuristic is never certain a message is "just" a reply.
REPLY_MAX_CONFIDENCE = 90
TIP_MENTION_CONFIDENCE = 60

_CONTENT = r"(pics?|photos?|pictures?|vids?|videos?|clips?|content|sets?|nudes?)"


@dataclass(frozen=True)
class SalesSignal:
    """One sign of a sales opportunity: a name for the tests, a pattern, a weight."""

    name: str
    pattern: str
    weight: int


SALES_SIGNALS: tuple[SalesSignal, ...] = (
    SalesSignal(
        "asks_what_you_have",
        # "what do you have for me", "what else have you got?", "what can you show me"; not
        # "what do you have planned".
        r"\bwhat\s+(else\s+)?(do|did|would|can|have)\s+(you|u|ya)\s+(got|have|get)\s+"
        r"(for|4)\s+(me|us)\b"
        r"|\bwhat\s+(else\s+)?(do|can|have)\s+(you|u|ya)\s+(got|have)\s*(\?|!|$)"
        r"|\bwhat('?ve|\s+have|'?s)?\s+(you|u|ya)\s+got\b"
        r"|\bwhat\s+(can|would|will)\s+(you|u)\s+(show|send|offer)\s+(me|us)\b",
        ASK,
    ),
    SalesSignal(
        "asks_to_be_sent",
        rf"\b(send|show|give)\s+(me|us)\s+(something|more|{_CONTENT}|"
        rf"(a|the|your|some|that)\s+(\w+\s+)?{_CONTENT})",
        ASK,
    ),
    SalesSignal(
        "asks_for_content",
        rf"\b(any|got\s+any|have\s+any|more)\s+(new\s+|more\s+|spicy\s+|naughty\s+|"
        rf"exclusive\s+|private\s+)?{_CONTENT}\b",
        ASK,
    ),
    SalesSignal(
        "asks_to_see_more",
        r"\b(can|could|may)\s+i\s+(see|get|have|buy)\s+(more|some|something|it|that|the)\b"
        r"|\b(want|wanna|need|dying)\s+(to\s+)?see\s+more\b",
        ASK,
    ),
    SalesSignal(
        "asks_for_special",
        r"\b(custom|exclusive|private|personal)\s+(video|vid|pics?|photos?|content|sets?|show)"
        r"|\b(something|anything)\s+(special|naughty|spicy|extra|exclusive)\b",
        ASK,
    ),
    SalesSignal(
        "asks_to_buy",
        r"\bppv\b|\bpay[\s-]?per[\s-]?view\b|\bunlock\b"
        r"|\b(want|wanna|like|ready)\s+to\s+(buy|purchase)\b"
        r"|\bhow\s+much\s+(for|is\s+(it|that|the)|are\s+(they|the)|would\s+it|does\s+it)\b",
        ASK,
    ),
    SalesSignal("hints_tonight", r"\btonight\b|\bto\s*nite\b|\blater\s+on\b", HINT),
    SalesSignal("hints_emoji", r"[😏😈🔥🍑🍆💦👅🥵]", HINT),
    SalesSignal(
        "hints_mood", r"\b(naughty|spicy|dirty|kinky|horny|frisky|bored|tease|teasing)\b", HINT
    ),
    SalesSignal("hints_for_me", r"\bfor\s+(me|us)\b", HINT),
)
_COMPILED = tuple((signal, re.compile(signal.pattern, re.IGNORECASE)) for signal in SALES_SIGNALS)

_TIP = re.compile(r"\btip(s|ped)?\b|\$\s?\d", re.IGNORECASE)
_COMPLIMENT = re.compile(
    r"\b(beautiful|gorgeous|stunning|pretty|cute|hot|sexy|amazing|perfect|incredible|"
    r"obsessed|love (your|ur|you|u))\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\?|^\s*(what|how|when|where|why|who|which|do|does|did|are|is|can|could|would|will)\b",
    re.IGNORECASE,
)
_GREETING_WORDS = r"(hi+|hey+|hello|hiya|yo|howdy|good (morning|afternoon|evening)|morning)"
_GREETING = re.compile(rf"^\s*{_GREETING_WORDS}\b", re.IGNORECASE)
# "hello?" or "hey you!!" is a greeting, not a question: nothing but the greeting is there.
_GREETING_ONLY = re.compile(
    rf"^\s*{_GREETING_WORDS}(\s+(there|you|u|babe|mia))?[\s!?.,~]*$", re.IGNORECASE
)


class Intent(StrEnum):
    """What a template answers: one per draft kind but `reply`, whose templates answer
    what the fan did."""

    tip = "tip"
    sales = "sales"
    follow_up = "follow_up"
    re_engage = "re_engage"
    compliment = "compliment"
    question = "question"
    greeting = "greeting"
    general = "general"


_KIND_INTENTS: dict[str, Intent] = {
    DraftKind.tip_thanks: Intent.tip,
    DraftKind.ppv_offer: Intent.sales,
    DraftKind.follow_up: Intent.follow_up,
    DraftKind.re_engage: Intent.re_engage,
}


def sales_signals(text: str) -> list[SalesSignal]:
    """The sales signals in `text`, each once, in table order."""
    return [signal for signal, pattern in _COMPILED if pattern.search(text)]


def sales_score(text: str) -> int:
    """The summed weight of the sales signals in `text`."""
    return sum(signal.weight for signal in sales_signals(text))


def detect_kind(text: str) -> Detection:
    """The draft kind a fan's message calls for, by the heuristic, with its confidence."""
    score = sales_score(text)
    if score >= SALES_THRESHOLD:
        return Detection(DraftKind.ppv_offer, min(score, MAX_CONFIDENCE), KindSource.heuristic)
    if _TIP.search(text):
        return Detection(DraftKind.tip_thanks, TIP_MENTION_CONFIDENCE, KindSource.heuristic)
    confidence = min(100 - score, REPLY_MAX_CONFIDENCE)
    return Detection(DraftKind.reply, confidence, KindSource.heuristic)


def reply_intent(text: str) -> Intent:
    """What a plain reply answers: the most specific obvious thing the fan did."""
    if _COMPLIMENT.search(text):
        return Intent.compliment
    if _GREETING_ONLY.match(text):
        return Intent.greeting
    if _QUESTION.search(text):
        return Intent.question
    if _GREETING.search(text):
        return Intent.greeting
    return Intent.general


def template_intent(text: str, kind: str) -> Intent:
    """The intent templates of `kind` answer; for a `reply`, read from the fan's `text`."""
    return _KIND_INTENTS.get(kind) or reply_intent(text)
