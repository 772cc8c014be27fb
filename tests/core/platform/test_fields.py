"""A field is read from its raw page value by regex, map, default and fallback, then typed:
money printed as text, counts and yes/no values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.platform.fields import FieldSpec, FieldUnreadable, cents, count, flag, read_row


def spec(**kwargs: object) -> FieldSpec:
    return FieldSpec.model_validate({"source": "text", **kwargs})


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("$5", 500),
        ("$5 tip", 500),
        ("Tipped $1,234.50", 123450),
        ("Unlock for $12.50", 1250),
        ("12,50 €", 1250),
        ("1.234,50 €", 123450),
        ("€1 234,5", 123450),
        ("USD 1,000", 100000),
        ("$0.99", 99),
    ],
)
def test_money_printed_as_text_reads_as_cents(printed: str, expected: int) -> None:
    assert cents(printed) == expected


@given(st.integers(min_value=0, max_value=10**9))
def test_money_reads_back_what_was_printed_with_separators(amount: int) -> None:
    printed = f"${amount // 100:,}.{amount % 100:02d}"
    assert cents(printed) == amount


def test_empty_money_is_none_and_text_without_digits_is_an_error() -> None:
    assert cents("") is None and cents(None) is None
    with pytest.raises(FieldUnreadable, match="no amount of money in 'free'"):
        cents("free")


def test_count_and_flag_read_what_pages_print() -> None:
    assert count("12 new") == 12 and count("1,204") == 1204 and count(" ") is None
    assert flag("true") is True and flag("Unlocked") is True and flag("no") is False
    with pytest.raises(FieldUnreadable, match="map it with `map`"):
        flag("maybe")


def test_regex_keeps_the_first_capture_group() -> None:
    row = read_row({"id": "/messages/c42?x=1"}, {"id": spec(regex=r"/messages/([^/?#]+)")})
    assert row == {"id": "c42"}


def test_regex_that_does_not_match_reads_nothing() -> None:
    assert read_row({"id": "elsewhere"}, {"id": spec(regex=r"/m/(\w+)")}) == {"id": None}


def test_a_token_map_reads_a_class_list() -> None:
    direction = spec(source="class", map={"msg--in": "in", "msg--out": "out"}, match="token")
    assert read_row({"d": "msg msg--in is-new"}, {"d": direction}) == {"d": "in"}
    assert read_row({"d": "msg msg--out"}, {"d": direction}) == {"d": "out"}
    # A token is a whole class: "msg--inline" is not "msg--in".
    assert read_row({"d": "msg msg--inline"}, {"d": direction}) == {"d": "msg msg--inline"}


def test_an_exact_map_swaps_whole_values_and_leaves_others() -> None:
    paid = spec(map={"Purchased": "true", "Locked": "false"})
    assert read_row({"p": "Purchased"}, {"p": paid}) == {"p": "true"}
    assert read_row({"p": "other"}, {"p": paid}) == {"p": "other"}


def test_default_fills_an_absent_or_empty_value() -> None:
    unread = spec(default="0")
    assert read_row({"u": None}, {"u": unread}) == {"u": "0"}
    assert read_row({"u": "  "}, {"u": unread}) == {"u": "0"}
    assert read_row({"u": "3"}, {"u": unread}) == {"u": "3"}


def test_a_missing_fan_id_falls_back_to_the_handle() -> None:
    specs = {"fan_id": spec(optional=True, fallback="handle"), "handle": spec(regex=r"@(\S+)")}
    assert read_row({"fan_id": None, "handle": "@jane_d"}, specs) == {
        "fan_id": "jane_d",
        "handle": "jane_d",
    }
    assert read_row({"fan_id": "f9", "handle": "@jane_d"}, specs)["fan_id"] == "f9"


def test_a_source_names_text_kinds_or_an_attribute() -> None:
    assert spec(source="inner_text").browser_spec() == {
        "selector": "",
        "kind": "inner_text",
        "attribute": None,
    }
    assert spec(source="attr:href").attribute == "href"
    # Schema 1 named attributes bare; they still read as attributes.
    assert spec(source="data-fan-id").browser_spec()["kind"] == "attr"


def test_a_bad_regex_or_empty_attribute_is_refused() -> None:
    with pytest.raises(ValueError, match="not a valid regular expression"):
        spec(regex="(")
    with pytest.raises(ValueError, match="needs an attribute name"):
        spec(source="attr:")
