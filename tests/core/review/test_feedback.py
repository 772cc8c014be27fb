"""Levenshtein distance, in graphemes, as the approval feedback rows record it."""

from __future__ import annotations

import pytest

from core.review.feedback import edit_distance, graphemes, levenshtein

FAMILY = "👨\u200d👩\u200d👧"


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("", "", 0),
        ("abc", "", 3),
        ("", "abc", 3),
        ("abc", "abc", 0),
        ("kitten", "sitting", 3),
        ("sitting", "kitten", 3),
        ("flaw", "lawn", 2),
        ("gumbo", "gambol", 2),
        ("abc", "acb", 2),
        ("a", "b", 1),
        ("intention", "execution", 5),
    ],
)
def test_levenshtein(a: str, b: str, distance: int) -> None:
    assert levenshtein(a, b) == distance
    assert levenshtein(list(a), list(b)) == distance


def test_edit_distance_counts_graphemes() -> None:
    assert graphemes(f"hi {FAMILY}!") == ["h", "i", " ", FAMILY, "!"]
    # Swapping a ZWJ family for one emoji is one edit, not five code points.
    assert edit_distance(f"hi {FAMILY}", "hi 😘") == 1
    assert edit_distance("e\u0301", "e") == 1
    assert edit_distance("Hey Sam, thanks!", "Hey Sam, thank you!") == 4
