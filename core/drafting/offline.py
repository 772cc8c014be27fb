"""The offline drafter: short persona-styled messages from templates, no network.

It writes for the draft kind: a sales tease for a `ppv_offer` (the platform shows the
locked message's price, so the text need not), thanks for a `tip_thanks`, a nudge for a
`follow_up` or `re_engage`; a `reply` answers what the fan did (a compliment, a question,
a greeting; `core.drafting.intent`). A fan nothing may be sold to (flagged by the
wellbeing guard, or at their daily spend cap) gets no template that pitches content
(`UNSOLD`). It picks templates written for the persona's tone and adds the persona's
name, phrases and emojis: one variant per template, then recombinations, each text
different. Every choice comes from a RNG seeded with `context.seed`, so the same context
always gives the same variants while different messages read differently.

Confidence says how completely a template answers that intent: thanking a tip or
greeting back is all the fan asked for (85), a tease or a nudge fits but cannot name
what is on offer or pick up the thread (70), a question can only be deflected (45).
Each further variant is `RANK_PENALTY` lower, so the first one is the drafter's pick.

The drafter learns from outcomes as the LLM's prompt does: the templates whose words come
nearest the messages that worked with the persona's fans (`context.examples`: sent
unchanged or lightly edited, then bought or answered) are tried first.
"""

from __future__ import annotations

import random
import re

from core.drafting.base import DraftContext, DraftResult, Variant
from core.drafting.intent import Intent, template_intent
from core.drafting.persona import Persona

# `{ name}` becomes " <fan's first name>", or nothing when the fan has no name.
TEMPLATES: dict[Intent, dict[str, tuple[str, ...]]] = {
    Intent.tip: {
        "warm": (
            "Thank you so much{ name}! That was so sweet of you, it honestly made my day",
            "Aww{ name}, thank you for the tip! I really appreciate you",
            "You're the sweetest{ name}, thank you! It means a lot to me",
        ),
        "playful": (
            "Omg{ name}, you spoil me! Thank you thank you",
            "Look at you being generous{ name}! Thanks so much",
            "Wait, you're amazing{ name}! Thanks for the tip, I can't stop grinning",
        ),
        "flirty": (
            "You really know how to make me smile{ name}. Thank you",
            "Thank you{ name}, you just made me blush",
            "Someone's being extra sweet today{ name}. Thank you, I love it",
        ),
        "professional": (
            "Thank you for the tip{ name}, I really appreciate your support.",
            "Thanks so much{ name}! Your support means a lot.",
            "Much appreciated{ name}, thank you for supporting my work.",
        ),
    },
    Intent.sales: {
        "warm": (
            "I just made something I think you'll really love{ name}. Want me to send it?",
            "Funny you ask{ name}, I have a new set I've been dying to share with you",
            "I saved something special just for you{ name}. Should I send it over?",
        ),
        "playful": (
            "Ooh{ name}, you're in luck, I made something fun today. Want a peek?",
            "Maybe I have a little surprise for you{ name}... want it?",
            "Guess who just finished a brand new set{ name}? Want to see it first?",
        ),
        "flirty": (
            "Mmm{ name}, I have something for you that I think you'll like a lot",
            "I was hoping you'd ask{ name}. I made something just for you tonight",
            "I've got a little something private for you{ name}... want me to send it?",
        ),
        "professional": (
            "Thanks for asking{ name}! I have a new exclusive set ready for you.",
            "Great timing{ name}, I just finished some new content. Want me to send it?",
            "I have a new exclusive release{ name}. I'd be happy to send it to you.",
        ),
    },
    Intent.follow_up: {
        "warm": (
            "Hey{ name}, just checking in. How's your day going?",
            "Thinking of you{ name}! Did you see my last message?",
            "Hope you're doing okay{ name}. I'm here whenever you want to chat",
        ),
        "playful": (
            "Helloooo{ name}? Don't leave me hanging",
            "Did I lose you{ name}? Come back and tell me about your day",
            "Knock knock{ name}! Still there?",
        ),
        "flirty": (
            "Hey{ name}... I was hoping to hear back from you",
            "Still thinking about our chat{ name}. Where did you go?",
            "Don't make me miss you{ name}. Come say hi",
        ),
        "professional": (
            "Hi{ name}, just following up on my last message.",
            "Hi{ name}, checking in to see if you had any questions.",
            "Hello{ name}, following up in case you missed my message.",
        ),
    },
    Intent.re_engage: {
        "warm": (
            "Hey{ name}, it's been a while! I've missed chatting with you. How have you been?",
            "Hi{ name}! I was just thinking about you. What have you been up to lately?",
            "Long time no talk{ name}! I hope everything is good with you",
        ),
        "playful": (
            "Well well{ name}, look who I haven't heard from in ages! How are you?",
            "Okay{ name}, I officially miss you. Where have you been hiding?",
            "Hey stranger{ name}! Catch me up on everything",
        ),
        "flirty": (
            "I've missed you{ name}. It's been too quiet without you",
            "Hey you{ name}... it's been a while. Thinking of me?",
            "It's been too long{ name}. Come back and talk to me",
        ),
        "professional": (
            "Hi{ name}, it's been a while! I hope you're doing well.",
            "Hello{ name}, just reaching out to say hi. Lots of new content since we last talked.",
            "Hi{ name}, hope all is well. I'd love to hear from you again.",
        ),
    },
    Intent.compliment: {
        "warm": (
            "Aww thank you{ name}! That's so kind of you to say",
            "You're too sweet{ name}, thank you! How's your day going?",
            "That honestly made me smile{ name}, thank you",
        ),
        "playful": (
            "Stop it{ name}, you're making me blush! Thank you",
            "Haha you're just saying that{ name}... but I'll take it! Thanks",
            "Okay{ name}, that's officially the nicest thing I've heard today",
        ),
        "flirty": (
            "Mmm, keep talking like that{ name}",
            "You always know exactly what to say{ name}. Thank you",
            "Careful{ name}, compliments like that get you on my favourites list",
        ),
        "professional": (
            "Thank you{ name}, that's very kind of you.",
            "I appreciate that{ name}, thank you!",
            "Thanks so much{ name}, glad you're enjoying my content.",
        ),
    },
    Intent.question: {
        "warm": (
            "Good question{ name}! Let me think about that one and tell you more soon",
            "Ooh{ name}, I love that you asked! What made you curious?",
            "Hmm, great question{ name}. What do you think?",
        ),
        "playful": (
            "Ooh, wouldn't you like to know{ name}! What's your guess?",
            "Haha{ name}, that's a fun one. You go first!",
            "Hmm, maybe I'll tell you{ name}... if you tell me something first",
        ),
        "flirty": (
            "Wouldn't you like to know{ name}. Ask me again nicely",
            "Mmm{ name}, curious are we? I like that",
            "That's a secret{ name}... but I might tell you if you stick around",
        ),
        "professional": (
            "Good question{ name}! I'll get back to you with the details shortly.",
            "Thanks for asking{ name}. Let me check and reply properly soon.",
            "Great question{ name}, I'll follow up with an answer shortly.",
        ),
    },
    Intent.greeting: {
        "warm": (
            "Hey{ name}! So good to hear from you. How's your day going?",
            "Hi{ name}! How are you doing today?",
            "Hi there{ name}! What have you been up to?",
        ),
        "playful": (
            "Heyyy{ name}! Look who it is",
            "Well hello{ name}! Took you long enough",
            "Hiii{ name}! What trouble are you getting into today?",
        ),
        "flirty": (
            "Hey{ name}... I was hoping you'd message me",
            "Well hi there{ name}. Missed me?",
            "Hey{ name}, you just made my day a little better",
        ),
        "professional": (
            "Hi{ name}, thanks for the message! How are you?",
            "Hello{ name}! Great to hear from you.",
            "Hi{ name}! Hope your day is going well.",
        ),
    },
    Intent.general: {
        "warm": (
            "Aww{ name}, thanks for telling me! How's everything else going?",
            "I love hearing from you{ name}. Tell me more?",
            "That's so nice{ name}. What else is new with you?",
        ),
        "playful": (
            "Haha{ name}, you always keep me entertained. Tell me more!",
            "Okay{ name}, now I need the full story",
            "Ha, love it{ name}! What happened next?",
        ),
        "flirty": (
            "Mmm{ name}, I like where this is going. Tell me more",
            "You've got my attention{ name}. Keep going",
            "I was just thinking about you{ name}. Tell me more",
        ),
        "professional": (
            "Thanks for your message{ name}! I'll get back to you soon.",
            "Appreciate you reaching out{ name}. Anything else I can help with?",
            "Thanks{ name}, noted! I'll reply properly shortly.",
        ),
    },
}

# Templates that pitch content, and what a fan nothing may be sold to gets instead.
UNSOLD: dict[str, str] = {
    "Hello{ name}, just reaching out to say hi. Lots of new content since we last talked.": (
        "Hello{ name}, just reaching out to say hi. I hope things are going well for you."
    ),
}


# How completely a template answers each intent (see the module docstring), and why.
CONFIDENCE: dict[Intent, int] = {
    Intent.tip: 85,
    Intent.greeting: 85,
    Intent.compliment: 75,
    Intent.sales: 70,
    Intent.follow_up: 70,
    Intent.re_engage: 70,
    Intent.general: 55,
    Intent.question: 45,
}
REASONS: dict[Intent, str] = {
    Intent.tip: "thanks the fan for their tip",
    Intent.sales: "teases the PPV the fan asked about",
    Intent.follow_up: "follows up on our unanswered message",
    Intent.re_engage: "checks in with a fan who has gone quiet",
    Intent.greeting: "greets the fan back",
    Intent.compliment: "thanks the fan for the compliment",
    Intent.general: "keeps the chat going; a template cannot reply to specifics",
    Intent.question: "deflects the question; a template cannot answer it",
}
RANK_PENALTY = 3
# Recombining three templates with phrases and emojis rarely repeats; this bounds the tries.
ATTEMPTS_PER_VARIANT = 8


def _allowed(options: tuple[str, ...] | list[str], forbidden: list[str]) -> list[str]:
    """Options without a forbidden word; all of them if none is clean (the content filter
    downstream then holds the draft back)."""
    words = [w.lower() for w in forbidden if w.strip()]
    clean = [o for o in options if not any(w in o.lower() for w in words)]
    return clean or list(options)


def _first_name(fan_name: str) -> str:
    parts = fan_name.strip().split()
    return parts[0][:30] if parts else ""


def _emojis(persona: Persona, rng: random.Random) -> str:
    if persona.emoji_style == "none" or not persona.emojis:
        return ""
    count = 1 if persona.emoji_style == "some" else rng.randint(2, 3)
    return "".join(rng.choice(persona.emojis) for _ in range(count))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z']+", text.lower()))


def _nearness(template: set[str], winners: list[set[str]]) -> float:
    """How close a template's words come to the best of the texts that worked (Jaccard)."""
    return max(
        (len(template & winner) / len(template | winner) for winner in winners if winner),
        default=0.0,
    )


class OfflineDrafter:
    """Template drafting in the persona's voice; deterministic per `context.seed`."""

    provider = "offline"
    model: str | None = None

    def _text(self, context: DraftContext, template: str, rng: random.Random) -> str:
        persona = context.persona
        name = _first_name(context.fan_name)
        parts = [template.replace("{ name}", f" {name}" if name else "")]
        phrases = _allowed(persona.phrases, persona.forbidden_words) if persona.phrases else []
        if phrases and rng.random() < 0.6:
            parts.append(rng.choice(phrases))
        if persona.tone == "professional" and persona.name:
            parts.append(f"- {persona.name}")
        emojis = _emojis(persona, rng)
        if emojis:
            parts.append(emojis)
        return " ".join(parts)

    def draft(self, context: DraftContext) -> DraftResult:
        """Write up to `context.variants` different short messages of `context.kind`, best
        first; fewer only when the templates cannot be varied further."""
        persona = context.persona
        rng = random.Random(context.seed)
        intent = template_intent(context.inbound_text, context.kind)
        templates = list(TEMPLATES[intent][persona.tone])
        if context.sales_barred:
            templates = [UNSOLD.get(template, template) for template in templates]
        templates = _allowed(templates, persona.forbidden_words)
        # Every template once before any repeats, in a seeded order; those nearest what
        # worked with fans before (`context.examples`, best first) lead.
        order = rng.sample(templates, len(templates))
        winners = [_words(example.reply) for example in context.examples]
        order.sort(key=lambda template: -_nearness(_words(template), winners))
        texts: list[str] = []
        for attempt in range(context.variants * ATTEMPTS_PER_VARIANT):
            text = self._text(context, order[attempt % len(order)], rng)
            if text not in texts:
                texts.append(text)
            if len(texts) == context.variants:
                break
        reason = f"{REASONS[intent]} (offline template, {persona.tone} tone)"
        variants = tuple(
            Variant(text=text, confidence=CONFIDENCE[intent] - rank * RANK_PENALTY, reason=reason)
            for rank, text in enumerate(texts)
        )
        return DraftResult(variants=variants, provider=self.provider, model=self.model)
