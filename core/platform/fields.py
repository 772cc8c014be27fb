"""How one value of a scraped row is read: a source on the page, then transforms.

A profile names, for every field of an inbox row or a message, the element inside the row
(`selector`, "" for the row itself) and where its value lives (`source`). The browser
hands back that raw string; everything after is pure and lives here:

1. `regex`: keep the first capture group (or the whole match) of the raw value;
2. `map`: swap the value for another, matching the whole value or one of its
   whitespace-separated tokens (a class list that contains `incoming` means "in");
3. `default`: the value when the element is absent or the value is empty;
4. `fallback`: another field of the same row, when this one is still empty.

Typed readers then turn the string into what the fleet stores: `cents` (money printed as
text: "$1,234.50", "Unlock for 12,50 €"), `count` and `flag`. Times are read by
`core.platform.timestamps`.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Sources the browser reads; any other string is an attribute's name.
TEXT_SOURCES = ("text", "inner_text", "text_content", "value", "class")
ATTRIBUTE_PREFIX = "attr:"


class FieldUnreadable(ValueError):
    """A field's value could not be read into its type; the message quotes the value."""


class FieldSpec(BaseModel):
    """Where one value of a row lives and how it is read.

    `source` is one of:
    - `text`: the visible text, every run of whitespace (line breaks too) as one space;
    - `inner_text`: the visible text with its line breaks kept (`innerText`);
    - `text_content`: the raw `textContent`, hidden text included;
    - `value`: the value of an input, select or textarea;
    - `class`: the class list, as one space-separated string;
    - `attr:NAME`, or a bare attribute name: that attribute.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    selector: str = Field(
        default="", description="A CSS selector inside the row; empty for the row itself."
    )
    source: str = Field(min_length=1)
    regex: str | None = Field(
        default=None, description="Keep the first capture group (or the match) of the value."
    )
    map: dict[str, str] | None = Field(
        default=None, description="Swap the value for another; see `match`."
    )
    match: Literal["exact", "token", "contains"] = Field(
        default="exact",
        description="How `map` keys meet the value: all of it, one of its space-separated "
        "tokens (a class list), or any part of it.",
    )
    money: bool = Field(
        default=False, description="The value is money printed as text: read it as cents."
    )
    formats: tuple[str, ...] = Field(
        default=(),
        description="strptime formats tried first for a time, read in the profile's zone "
        "when they carry no offset; ISO-8601, epoch numbers and relative words always work.",
    )
    default: str | None = Field(
        default=None, description="The value when the element is absent or empty."
    )
    optional: bool = Field(
        default=False, description="An absent element is no error: the value is empty."
    )
    fallback: str | None = Field(
        default=None, description="Another field of the same row to use when this is empty."
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, pattern: str | None) -> str | None:
        if pattern is not None:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return pattern

    @model_validator(mode="after")
    def _source_named(self) -> FieldSpec:
        if self.source.startswith(ATTRIBUTE_PREFIX) and not self.attribute:
            raise ValueError("source 'attr:' needs an attribute name, like attr:href")
        return self

    @property
    def attribute(self) -> str | None:
        """The attribute this field reads, or None for a text, value or class source."""
        if self.source in TEXT_SOURCES:
            return None
        return self.source.removeprefix(ATTRIBUTE_PREFIX)

    @property
    def may_be_absent(self) -> bool:
        """Whether a row may lack this field's element without it being an error."""
        return self.optional or self.default is not None or self.fallback is not None

    def browser_spec(self) -> dict[str, str | None]:
        """What the page script needs to read the raw value: selector, kind, attribute."""
        kind = self.source if self.attribute is None else "attr"
        return {"selector": self.selector, "kind": kind, "attribute": self.attribute}


def _transform(raw: str | None, spec: FieldSpec) -> str | None:
    if raw is None:
        return None
    value = raw
    if spec.regex is not None:
        found = re.search(spec.regex, value)
        if found is None:
            return None
        value = found.group(1) if found.groups() else found.group(0)
    if spec.map is not None:
        value = _mapped(value, spec)
    return value


def _mapped(value: str, spec: FieldSpec) -> str:
    assert spec.map is not None
    if spec.match == "exact":
        return spec.map.get(value.strip(), value)
    tokens = value.split()
    for key, replacement in spec.map.items():
        if (spec.match == "token" and key in tokens) or (spec.match == "contains" and key in value):
            return replacement
    return value


def _empty(value: str | None) -> bool:
    return value is None or not value.strip()


def read_row(raw: dict[str, str | None], specs: dict[str, FieldSpec]) -> dict[str, str | None]:
    """Every field of a row: `raw` (what the browser read, None for an absent element)
    through each spec's regex, map and default, then fallbacks to other fields."""
    values = {name: _transform(raw.get(name), spec) for name, spec in specs.items()}
    for name, spec in specs.items():
        if _empty(values[name]) and spec.default is not None:
            values[name] = spec.default
    for name, spec in specs.items():
        if _empty(values[name]) and spec.fallback is not None:
            values[name] = values.get(spec.fallback)
    return values


_MONEY = re.compile(r"\d[\d.,\s\u00a0\u202f']*")


def cents(value: str | None) -> int | None:
    """Money printed as text, in cents: "$5", "Tipped $1,234.50", "12,50 €", "1.234,50";
    None when empty. The last `.` or `,` followed by one or two digits is the decimal point;
    every other separator groups thousands."""
    if _empty(value):
        return None
    assert value is not None
    found = _MONEY.search(value)
    if found is None:
        raise FieldUnreadable(f"no amount of money in {value!r}")
    number = re.sub(r"[\s\u00a0\u202f']", "", found.group(0)).rstrip(".,")
    decimal = re.search(r"[.,](\d{1,2})$", number)
    whole, fraction = (number[: decimal.start()], decimal.group(1)) if decimal else (number, "")
    digits = re.sub(r"[.,]", "", whole) or "0"
    return int(digits) * 100 + int(fraction.ljust(2, "0") or 0)


def count(value: str | None) -> int | None:
    """A whole number printed as text ("3", "12 new", "1,204"); None when empty."""
    if _empty(value):
        return None
    assert value is not None
    found = re.search(r"-?\d[\d,]*", value)
    if found is None:
        raise FieldUnreadable(f"no number in {value!r}")
    return int(found.group(0).replace(",", ""))


_TRUE = frozenset({"true", "yes", "1", "on", "paid", "unlocked", "purchased"})
_FALSE = frozenset({"false", "no", "0", "off", "unpaid", "locked"})


def flag(value: str | None) -> bool | None:
    """A yes/no value ("true", "yes", "1", "paid", ...); None when empty."""
    if _empty(value):
        return None
    assert value is not None
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise FieldUnreadable(f"neither yes nor no: {value!r}; map it with `map`")
