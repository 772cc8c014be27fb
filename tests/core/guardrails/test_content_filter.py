"""The content filter's decision table: what blocks (and by which rule) and what passes."""

from __future__ import annotations

import pytest

from core.guardrails.content_filter import GLOBAL_FORBIDDEN_WORDS, RULES, Category, check

PERSONA_WORDS = ["daddy", "babygirl"]

# (text, the rule that must hit, or None when the text must pass untouched)
CASES: list[tuple[str, str | None]] = [
    # phone numbers
    ("text me at 555-123-4567", "phone_number"),
    ("call me (555) 123-4567 tonight", "phone_number"),
    ("my number is +44 7911 123456", "phone_number"),
    ("5551234567 is my cell", "phone_number"),
    ("it's 555.123.4567", "phone_number"),
    ("reach me on 555-1234", "phone_number"),
    ("5 5 5 1 2 3 4 5 6 7 hit me up", "phone_number"),
    ("I paid my phone bill today", None),
    ("$15 for the set", None),
    ("the bundle is $1,500 this week", None),
    ("I took 16 photos today", None),
    ("back in 2019 I started this page", None),
    ("see you at 10:30 for the live stream", None),
    # e-mail
    ("email me at mia.rose@gmail.com", "email"),
    ("write to mia_xo@proton.me babe", "email"),
    ("mia rose at gmail dot com", "email"),
    ("miarose (at) yahoo (dot) com", "email"),
    ("check your email for the receipt lol", None),
    # links
    ("check out https://example.com/mia", "link"),
    ("go to www.miarose.net", "link"),
    ("all my links at linktr.ee/mia", "link"),
    ("miarose.com has more", "link"),
    ("t.me/miaxo", "link"),
    ("e.g. a cute outfit", None),
    ("this costs 3.50 more", None),
    ("I love you... so much", None),
    # other platforms and handles
    ("add me on snapchat", "platform_handle"),
    ("my snap is mia_xo", "platform_handle"),
    ("what's your insta?", "platform_handle"),
    ("hit me up on telegram", "platform_handle"),
    ("whatsapp me babe", "platform_handle"),
    ("find me on kik", "platform_handle"),
    ("ig: @mia.rose", "platform_handle"),
    ("@mia_xo on insta", "platform_handle"),
    ("dm me on ig", "platform_handle"),
    ("message me on discord later", "platform_handle"),
    ("oh snap, you caught me", None),
    ("let me snap a pic for you", None),
    ("I'll reply instantly", None),
    ("that was a snap decision", None),
    ("follow my page for more", None),
    # off-platform payment
    ("send it on paypal instead", "off_platform_payment"),
    ("my cash app is $miarose", "off_platform_payment"),
    ("venmo me 50", "off_platform_payment"),
    ("zelle works too", "off_platform_payment"),
    ("I take bitcoin", "off_platform_payment"),
    ("pay in btc or eth", "off_platform_payment"),
    ("send 20 to $mia22", "off_platform_payment"),
    ("wallet 0x52908400098527886E0F7030069857D2E4169EE7", "off_platform_payment"),
    ("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "off_platform_payment"),
    ("an amazon gift card works", "off_platform_payment"),
    ("you can pay me directly", "off_platform_payment"),
    ("pay outside the app and save", "off_platform_payment"),
    ("wire transfer is fine", "off_platform_payment"),
    ("tip me if you liked it", None),
    ("the new set is 20 dollars", None),
    ("Beth says hi", None),
    ("that method works for me", None),
    ("unlock it for $9.99", None),
    # meeting in person
    ("let's meet up this weekend", "meeting"),
    ("we should meet in person", "meeting"),
    ("meet me at the hotel bar", "meeting"),
    ("come over to my place tonight", "meeting"),
    ("come over later?", "meeting"),
    ("what's your address?", "meeting"),
    ("where do you live?", "meeting"),
    ("let's grab a drink together", "meeting"),
    ("I want to see you in person", "meeting"),
    ("I can pick you up at 8", "meeting"),
    ("I'll book a hotel", "meeting"),
    ("nice to meet you!", None),
    ("this set was shot at my place", None),
    ("so glad we met here", None),
    ("lol get a room you two", None),
    ("I live for these chats", None),
    # signs of a minor
    ("I'm 16", "minor"),
    ("im 15 lol", "minor"),
    ("i am only 17", "minor"),
    ("I'm sixteen", "minor"),
    ("I'm 16 years old", "minor"),
    ("I'm in high school", "minor"),
    ("I'm a high school junior", "minor"),
    ("i'm a sophomore in high school", "minor"),
    ("I'm in 9th grade", "minor"),
    ("my mom won't let me buy it", "minor"),
    ("my parents dont let me use my card", "minor"),
    ("my dad took away my phone", "minor"),
    ("I got grounded again", "minor"),
    ("I'm not 18 yet", "minor"),
    ("when I turn 18 I'll subscribe", "minor"),
    ("I'll be 18 next month", "minor"),
    ("you're 16?", "minor"),
    ("16 photos in this set", None),
    ("I'm 26", None),
    ("I'm 61 and proud", None),
    ("I'm 5 minutes away from home", None),
    ("I'm 6'2 btw", None),
    ("when I was in high school I had a crush like you", None),
    ("my son is 16 and drives now", None),
    ("my mom loved the flowers", None),
    ("I'm 10 out of 10 obsessed", None),
    ("I'm a senior engineer", None),
    # forbidden words: global and the persona's
    ("that's so underage lol", "forbidden_word"),
    ("call me daddy", "forbidden_word"),
    ("hey babygirl", "forbidden_word"),
    ("DADDY is home", "forbidden_word"),
    ("I ate grapes today", None),
    ("my dad is visiting", None),
    ("a rapeseed field", None),
    # clean chat
    ("hey! how was your day? 😘", None),
    ("thank you for the tip, you're the sweetest", None),
    ("new set drops tonight, want a peek?", None),
    ("I love hearing from you", None),
]


@pytest.mark.parametrize(("text", "rule"), CASES, ids=[text for text, _ in CASES])
def test_decision_table(text: str, rule: str | None) -> None:
    result = check(text, PERSONA_WORDS)
    rules = {hit.rule for hit in result.hits}
    if rule is None:
        assert not result.blocked, (text, result.hits)
    else:
        assert result.blocked
        assert rule in rules, (text, rules)


def test_table_is_large_and_balanced() -> None:
    positives = sum(rule is not None for _, rule in CASES)
    negatives = len(CASES) - positives
    assert len(CASES) >= 60
    assert positives >= 30 and negatives >= 30
    assert {rule for _, rule in CASES if rule} == {r.name for r in RULES} | {"forbidden_word"}


def test_hits_carry_rule_category_and_span() -> None:
    text = "text me at 555-123-4567 or venmo me"
    result = check(text)
    by_rule = {hit.rule: hit for hit in result.hits}
    phone = by_rule["phone_number"]
    assert (phone.category, text[phone.start : phone.end]) == (Category.contact, "555-123-4567")
    pay = by_rule["off_platform_payment"]
    assert (pay.category, text[pay.start : pay.end]) == (Category.payment, "venmo")
    assert result.rule_counts() == {"phone_number": 1, "off_platform_payment": 1}
    assert phone.model_dump(mode="json") == {
        "rule": "phone_number",
        "category": "contact",
        "start": 11,
        "end": 23,
    }


def test_overlapping_patterns_of_one_rule_count_once() -> None:
    # Two phone patterns match this number; it is still one hit.
    assert check("call 555-123-4567").rule_counts() == {"phone_number": 1}


def test_forbidden_words_are_the_global_list_plus_the_personas() -> None:
    assert check("daddy").blocked is False
    assert check("daddy", ["Daddy "]).rule_counts() == {"forbidden_word": 1}
    for word in GLOBAL_FORBIDDEN_WORDS:
        assert check(f"so {word} right").rule_counts() == {"forbidden_word": 1}, word
