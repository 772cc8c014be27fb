"""Approval feedback: how far what an operator approved is from what the drafter wrote.

Each approval stores one `DraftFeedback` row: the variant it started from, the final text
and the Levenshtein distance between them, counted in graphemes (what a person sees as one
character), so swapping an emoji, even a ZWJ family one, is one edit.
"""

from __future__ import annotations

from collections.abc import Sequence

import regex
from sqlalchemy.orm import Session

from core.models import DraftFeedback

_GRAPHEME = regex.compile(r"\X")


def levenshtein(a: Sequence[str], b: Sequence[str]) -> int:
    """The fewest insertions, deletions and substitutions that turn `a` into `b`."""
    if len(a) < len(b):
        a, b = b, a
    # One row of the classic table at a time, over the shorter sequence.
    previous = list(range(len(b) + 1))
    for i, left in enumerate(a, start=1):
        current = [i]
        for j, right in enumerate(b, start=1):
            current.append(
                min(
                    previous[j] + 1,  # delete `left`
                    current[j - 1] + 1,  # insert `right`
                    previous[j - 1] + (left != right),  # keep or substitute
                )
            )
        previous = current
    return previous[-1]


def graphemes(text: str) -> list[str]:
    """`text` split into extended grapheme clusters."""
    return _GRAPHEME.findall(text)


def edit_distance(original: str, final: str) -> int:
    """The Levenshtein distance between two texts, in graphemes."""
    return levenshtein(graphemes(original), graphemes(final))


def record(
    session: Session,
    *,
    draft_id: int,
    variant: int | None,
    original_text: str,
    final_text: str,
    actor: str,
) -> DraftFeedback:
    """Add the feedback row of an approval to the session's transaction."""
    row = DraftFeedback(
        draft_id=draft_id,
        variant=variant,
        original_text=original_text,
        final_text=final_text,
        edit_distance=edit_distance(original_text, final_text),
        actor=actor,
    )
    session.add(row)
    return row
