"""What a platform is, as data, and how a person types into it.

A platform is a profile file in `browser_profiles/` (`profiles`): URLs, selectors, how
each field is read (`fields`: a source, then regex, map, money, default, fallback), the
UI steps of a send, how a send is confirmed, the typing and pacing defaults. Printed
times are read by `timestamps`. A typing plan (`typing_plan`) turns text and a typing
profile into seeded keystrokes. Pure: no database, no Redis, no browser.
"""

from core.platform.fields import FieldSpec, FieldUnreadable, cents, read_row
from core.platform.profiles import (
    MAX_TEXT_CHARS,
    BrowserProfile,
    PacingOverrides,
    PacingProfile,
    ProfileError,
    SendConfirmation,
    Step,
    ThrottleProfile,
    TypingProfile,
    load_profile,
    load_profiles,
    named_profile,
)
from core.platform.timestamps import UnreadableTime, read_time
from core.platform.typing_plan import (
    TypingPlan,
    comparable_text,
    dwell_s,
    graphemes,
    plan_typing,
    seed_for,
)

__all__ = [
    "MAX_TEXT_CHARS",
    "BrowserProfile",
    "FieldSpec",
    "FieldUnreadable",
    "PacingOverrides",
    "PacingProfile",
    "ProfileError",
    "SendConfirmation",
    "Step",
    "ThrottleProfile",
    "TypingPlan",
    "TypingProfile",
    "UnreadableTime",
    "cents",
    "comparable_text",
    "dwell_s",
    "graphemes",
    "load_profile",
    "load_profiles",
    "named_profile",
    "plan_typing",
    "read_row",
    "read_time",
    "seed_for",
]
