"""The content filter: what no draft and no operator-edited text may say.

The rules are data: `RULES` below is a table of named rules, each a category and a list of
regular expressions (matched case-insensitively on the raw text, so spans point into it),
and `GLOBAL_FORBIDDEN_WORDS` is the word list every account shares; an account's persona
adds its own forbidden words. `check` runs them all and returns every hit with its rule and
span. Any hit blocks: a blocked draft waits for a human (see `core.review.decisions`).

The patterns lean towards blocking: a false positive costs an operator one look, a false
negative can put a fan's safety or the account at risk. `tests/ai/test_content_filter.py`
is the decision table that pins what passes and what does not.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from pydantic import BaseModel, ConfigDict


class Category(StrEnum):
    """Why a rule exists; several rules may share one."""

    forbidden_word = "forbidden_word"
    contact = "contact"
    payment = "payment"
    meeting = "meeting"
    minor = "minor"


@dataclass(frozen=True)
class Rule:
    """A named rule: any match of any pattern is a hit."""

    name: str
    category: Category
    description: str
    patterns: tuple[str, ...]


# Words no account may send, on top of each persona's own: terms platforms ban outright.
GLOBAL_FORBIDDEN_WORDS: tuple[str, ...] = (
    "underage",
    "jailbait",
    "loli",
    "lolita",
    "preteen",
    "pedo",
    "incest",
    "bestiality",
    "rape",
    "escort",
)

FORBIDDEN_WORD_RULE = "forbidden_word"

# Ages 1-17 in digits and words, and who they are said of ("I'm", "you're").
_MINOR_AGE = r"(?:1[0-7]|[1-9]|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen)"
_SELF_OR_FAN = r"(?:i'?m|i’m|im|i\s+am|you'?re|you’re|youre|you\s+are|ur|u\s+r)"
# What may follow a small number without it being an age: "I'm 5 minutes away", "6'2".
_NOT_AN_AGE = (
    r"(?!\s*(?:min|mins|minutes?|hours?|hrs?|seconds?|secs?|days?|weeks?|months?|inch|inches|"
    r"cm|feet|ft|foot|miles?|km|%|percent|dollars?|bucks|k\b|photos?|pics?|videos?|times?|"
    r"of\b|out\s+of|to\b|x\b|/|[.,:]\d|'|’|-|am\b|pm\b|o'?clock|away|more|left))"
)
_SHORT_PLATFORMS = r"(?:snap|sc|insta|ig|tg|tele)"

RULES: tuple[Rule, ...] = (
    Rule(
        "phone_number",
        Category.contact,
        "A phone number: 10+ digits with or without separators, or a 7-digit local number.",
        (
            r"(?<![\w$.,])(?:\+?\d{1,3}[\s.-]?)?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}(?![\w%])",
            r"(?<![\w$])\+\d{1,3}(?:[\s.-]?\d{2,4}){3,5}(?!\w)",
            r"(?<![\w$.,])\d{3}[.-]\d{4}(?![\w.,%])",
            # Digits spaced out one by one to slip past the patterns above.
            r"(?<![\w$])(?:\d[\s.-]){9,14}\d(?!\w)",
        ),
    ),
    Rule(
        "email",
        Category.contact,
        "An e-mail address, also spelled out as 'name at gmail dot com'.",
        (
            r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
            r"\b[\w.+-]+\s*[(\[]?\s*at\s*[)\]]?\s*(?:gmail|yahoo|hotmail|outlook|icloud|aol|"
            r"proton(?:mail)?)\s*[(\[]?\s*(?:dot|\.)\s*[)\]]?\s*com\b",
        ),
    ),
    Rule(
        "link",
        Category.contact,
        "A URL or a bare domain name.",
        (
            r"\bhttps?://\S+",
            r"\bwww\.\S+",
            r"\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|me|co|ly|link|xyz|app|"
            r"gg|tv|to|info|biz|site|online|club|page|bio|cc|ee|uk|us|de)\b(?:/\S*)?",
        ),
    ),
    Rule(
        "platform_handle",
        Category.contact,
        "Another platform named, or a handle / 'add me on' for one.",
        (
            r"\b(?:snap\s?chat|instagram|telegram|whats\s?app|kik|discord|skype|wickr|wechat)\b",
            r"\b(?:add|find|follow|message|msg|dm|text|hit|reach|contact|call|talk\s+to|"
            r"chat\s+with|catch)\s+(?:me|us)?\s*(?:up\s+)?(?:on|at|via|over)\s+"
            rf"(?:{_SHORT_PLATFORMS}|signal|line|the\s+other\s+app)\b",
            rf"\b(?:my|your|ur)\s+{_SHORT_PLATFORMS}\s*(?:is\b|:|=|@|handle|name|username|id\b)",
            rf"\bwhat(?:'?s|’s|\s+is)\s+(?:your|ur)\s+{_SHORT_PLATFORMS}\b",
            rf"\b{_SHORT_PLATFORMS}\s*[:=-]?\s*@[\w.]{{2,}}",
            rf"@[\w.]{{2,}}\s+(?:on|at)\s+{_SHORT_PLATFORMS}\b",
        ),
    ),
    Rule(
        "off_platform_payment",
        Category.payment,
        "Payment outside the platform: payment apps, transfers, crypto, gift cards.",
        (
            r"\b(?:pay\s?pal|venmo|zelle|cash\s?app|revolut|skrill|payoneer|paysafe(?:card)?|"
            r"western\s+union|money\s?gram|wire\s+transfer|bank\s+transfer|apple\s+pay|"
            r"google\s+pay|e-?transfer|interac)\b",
            r"\b(?:crypto(?:currency|currencies)?|bitcoin|btc|ethereum|eth|usdt|tether|"
            r"litecoin|ltc|dogecoin|monero|xmr|solana|binance|coinbase)\b",
            r"\b(?:gift\s?cards?|amazon\s+cards?|steam\s+cards?|google\s+play\s+cards?|"
            r"itunes\s+cards?|vanilla\s+(?:visa|cards?))\b",
            # A Cash App $cashtag: a dollar sign followed by a letter, not a price.
            r"(?<![\w$])\$[a-z][\w]{2,19}\b",
            r"\b(?:bc1[a-z0-9]{25,60}|[13][a-km-z1-9]{25,34}|0x[a-f0-9]{40})\b",
            r"\b(?:pay|send|paid)\s+(?:me\s+)?(?:directly|outside(?:\s+(?:of\s+)?(?:here|the\s+"
            r"(?:site|app)))?|off(?:\s+the)?[\s-](?:site|app|platform))\b",
        ),
    ),
    Rule(
        "meeting",
        Category.meeting,
        "Arranging to meet in person.",
        (
            r"\bmeet\s+(?:up|in\s+person|irl|in\s+real\s+life|face\s+to\s+face)\b",
            r"\bmeet\s+(?:you\s+|me\s+|u\s+)?(?:at|in)\s+(?:the\s+|a\s+|my\s+|your\s+)?"
            r"(?:hotel|bar|park|club|cafe|restaurant|place|room|apartment|house|lobby)\b",
            r"\bmeet\s+(?:me|you|u)\s+(?:tonight|tomorrow|this\s+weekend|after\s+work|"
            r"sometime|somewhere|for\s+real)\b",
            r"\bmeetup\b",
            r"\bcome\s+over\b",
            r"\b(?:come|head|swing|stop|drop)\s+(?:by|round|over\s+to|to)\s+(?:my|your|ur)\s+"
            r"(?:place|house|apartment|flat|hotel(?:\s+room)?|room)\b",
            r"\b(?:your|ur|my)\s+(?:home\s+|street\s+)?address\b",
            r"\bwhere\s+do\s+(?:you|u)\s+live\b",
            r"\b(?:grab|get|have)\s+(?:a\s+)?(?:drink|drinks|coffee|dinner|lunch|a\s+bite)\s+"
            r"(?:together|with\s+(?:me|you|u))\b",
            r"\b(?:see|meet|visit|hang\s+out\s+with|date)\s+(?:you|u|me)\s+(?:in\s+person|irl|"
            r"in\s+real\s+life|face\s+to\s+face)\b",
            r"\bpick\s+(?:you|u|me)\s+up\b",
            r"\bbook\s+(?:a|us\s+a)\s+(?:hotel|room)\b",
            r"\bget\s+(?:us\s+)?a\s+hotel\b",
            r"\bhook\s?up\s+(?:irl|in\s+person|tonight|for\s+real)\b",
        ),
    ),
    Rule(
        "minor",
        Category.minor,
        "Signs that the fan (or the writer) is under 18.",
        (
            rf"\b{_SELF_OR_FAN}\s+(?:only\s+|just\s+|still\s+|barely\s+)?{_MINOR_AGE}\b"
            + _NOT_AN_AGE,
            rf"\b{_SELF_OR_FAN}\s+(?:a\s+)?(?:minor|underage|under\s+age|under\s+(?:18|eighteen)|"
            r"not\s+(?:18|eighteen)(?:\s+yet)?)\b",
            r"\b(?:i'?ll|i’ll|ill|i\s+will)\s+(?:be|turn)\s+(?:18|eighteen)\s+(?:next|in|soon)\b",
            r"\b(?:when|once|until|till|til)\s+i(?:'m|’m|\s+am|\s+turn)\s+(?:18|eighteen)\b",
            rf"\b{_SELF_OR_FAN}\s+(?:still\s+)?(?:in\s+)?(?:high|middle|junior\s+high)\s+"
            r"school(?:er)?\b",
            r"\bi\s+(?:go\s+to|attend)\s+(?:high|middle|junior\s+high)\s+school\b",
            rf"\b{_SELF_OR_FAN}\s+a\s+high\s+school\s+(?:freshman|sophomore|junior|senior|"
            r"student|kid)\b",
            rf"\b{_SELF_OR_FAN}\s+a\s+(?:freshman|sophomore|junior|senior)\s+(?:in|at)\s+high\s+"
            r"school\b",
            rf"\b{_SELF_OR_FAN}\s+in\s+(?:the\s+)?(?:[6-9]|1[0-2]|sixth|seventh|eighth|ninth|"
            r"tenth|eleventh|twelfth)(?:th)?\s+grade\b",
            r"\bmy\s+(?:mom|mum|mommy|mother|dad|daddy|father|parents|step\s?mom|step\s?dad)\s+"
            r"(?:won'?t|wont|won’t|doesn'?t|doesnt|don'?t|dont|will\s+not|never)\s+let\s+me\b",
            r"\bmy\s+(?:mom|mum|mother|dad|father|parents)\s+(?:took|takes|will\s+take|checks?|"
            r"grounded)\s+(?:away\s+)?(?:my\s+phone|me)\b",
            r"\b(?:i'?m|im|i\s+am|i\s+got|got)\s+grounded\b",
            r"\bhomeroom\b",
        ),
    ),
)

_FLAGS = re.IGNORECASE
_COMPILED: tuple[tuple[Rule, tuple[re.Pattern[str], ...]], ...] = tuple(
    (rule, tuple(re.compile(pattern, _FLAGS) for pattern in rule.patterns)) for rule in RULES
)


def any_of(patterns: Iterable[str], flags: re.RegexFlag = _FLAGS) -> re.Pattern[str]:
    """One pattern that matches where any of `patterns` does: one search of a text instead
    of one per pattern, for a check that needs to know whether, not where."""
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), flags)


_ANY_OF = {rule.name: any_of(rule.patterns) for rule in RULES}


class FilterHit(BaseModel):
    """One match: the rule, its category, and the span `[start, end)` in the checked text
    (no text: a draft stores its hits beside the text they point into)."""

    model_config = ConfigDict(frozen=True)

    rule: str
    category: Category
    start: int
    end: int


@dataclass(frozen=True)
class FilterResult:
    """Every hit of a check, in text order. Any hit blocks."""

    hits: tuple[FilterHit, ...]

    @property
    def blocked(self) -> bool:
        """Whether the text may not be sent without an admin's override."""
        return bool(self.hits)

    def rule_counts(self) -> dict[str, int]:
        """Hits per rule name, for the audit log and metrics."""
        return dict(Counter(hit.rule for hit in self.hits))


def _word_pattern(word: str) -> re.Pattern[str]:
    # Whole words only ("rape" must not hit "grapes"); lookarounds also work for words
    # that start or end with punctuation, where `\b` would not.
    return re.compile(rf"(?<!\w){re.escape(word.strip())}(?!\w)", _FLAGS)


def _forbidden_hits(text: str, words: Iterable[str]) -> list[FilterHit]:
    hits = []
    for word in dict.fromkeys(w.strip().lower() for w in words if w.strip()):
        for match in _word_pattern(word).finditer(text):
            hits.append(
                FilterHit(
                    rule=FORBIDDEN_WORD_RULE,
                    category=Category.forbidden_word,
                    start=match.start(),
                    end=match.end(),
                )
            )
    return hits


def _rule_hits(rule: Rule, patterns: tuple[re.Pattern[str], ...], text: str) -> list[FilterHit]:
    return [
        FilterHit(rule=rule.name, category=rule.category, start=m.start(), end=m.end())
        for pattern in patterns
        for m in pattern.finditer(text)
    ]


def mentions(rule_name: str, text: str) -> bool:
    """Whether any pattern of the rule of `RULES` called `rule_name` matches `text` (the
    wellbeing guard reads `minor` in the fan's own messages)."""
    return _ANY_OF[rule_name].search(text) is not None


def check(text: str, forbidden_words: Iterable[str] = ()) -> FilterResult:
    """Run every rule, the global forbidden words and `forbidden_words` (the persona's)
    over `text`. Overlapping matches of one rule count once."""
    return _check(text, tuple(forbidden_words))


# A mass message screens one text for each of thousands of fans; the result is immutable.
@lru_cache(maxsize=1024)
def _check(text: str, forbidden_words: tuple[str, ...]) -> FilterResult:
    hits = _forbidden_hits(text, (*GLOBAL_FORBIDDEN_WORDS, *forbidden_words))
    for rule, patterns in _COMPILED:
        hits.extend(_rule_hits(rule, patterns, text))
    unique: dict[tuple[str, int, int], FilterHit] = {}
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        overlapped = any(
            h.rule == hit.rule and h.start <= hit.start < h.end for h in unique.values()
        )
        if not overlapped:
            unique[(hit.rule, hit.start, hit.end)] = hit
    return FilterResult(hits=tuple(unique.values()))


class ScreenedVariant(BaseModel):
    """One alternative text a drafter wrote, its confidence (0-100) and reason, and the
    content filter's hits on it: a draft's variants as stored."""

    model_config = ConfigDict(frozen=True)

    text: str
    confidence: int
    reason: str
    filter_hits: list[FilterHit]


def screen_variant(
    text: str, confidence: int, reason: str, forbidden_words: Iterable[str] = ()
) -> ScreenedVariant:
    """A drafter's variant with the filter's hits on it."""
    return ScreenedVariant(
        text=text,
        confidence=confidence,
        reason=reason,
        filter_hits=list(check(text, forbidden_words).hits),
    )
