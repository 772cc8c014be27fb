"""What operators write on a fan: tags, notes and custom fields, by hand (`update_fan`)
or in bulk from a CSV (`core.crm.fan_import`), both through `FanChanges`.

The rules are one set of types, so a PATCH body, a CSV cell and the schema agree:

- a tag is trimmed and lower-cased ("VIP " and "vip" are one tag), 1 to 50 characters,
  with no comma, semicolon or control character (a CSV cell lists tags split by `;`);
  a fan holds at most 50;
- notes are free text up to 5,000 characters;
- a custom field is named by 1 to 50 letters, digits, `_` or `-`, and holds a string (up
  to 500 characters), a whole number, a finite number or a boolean; a fan holds at most
  50. Setting one to null removes it.

Tags and notes reach the drafting prompt (`core.drafting.prompt`); custom fields do not:
an agency keeps there what a drafter has no business repeating. No text holds a NUL
(PostgreSQL cannot store one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
    model_validator,
)
from sqlalchemy.orm import Session

from core import audit
from core.errors import Conflict, get_or_raise
from core.models import CustomValue, Fan

TAG_MAX_CHARS = 50
MAX_TAGS = 50
NOTES_MAX_CHARS = 5000
FIELD_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,50}$"
FIELD_VALUE_MAX_CHARS = 500
MAX_CUSTOM_FIELDS = 50
# A whole number any JSON client reads back exactly.
_MAX_SAFE_INT = 2**53


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _tag(value: str) -> str:
    tag = value.strip().lower()
    if not tag:
        raise ValueError("a tag must not be empty")
    if len(tag) > TAG_MAX_CHARS:
        raise ValueError(f"a tag is at most {TAG_MAX_CHARS} characters")
    if any(char in ",;" or ord(char) < 0x20 or ord(char) == 0x7F for char in tag):
        raise ValueError("a tag holds no comma, semicolon or control character")
    return tag


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


# What the schema can say of a tag before it is trimmed: no separator or control character,
# something besides spaces.
TAG_PATTERN = r"^[^,;\x00-\x1f\x7f]*[^,;\s][^,;\x00-\x1f\x7f]*$"
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=TAG_MAX_CHARS, pattern=TAG_PATTERN),
    AfterValidator(_tag),
    Field(description=f"1 to {TAG_MAX_CHARS} characters, no `,` or `;`; stored lower-case."),
]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS)]
Notes = Annotated[
    str,
    StringConstraints(max_length=NOTES_MAX_CHARS),
    AfterValidator(_no_nul),
    Field(description=f"Free text, up to {NOTES_MAX_CHARS} characters; the drafter reads it."),
]
FieldName = Annotated[str, StringConstraints(pattern=FIELD_NAME_PATTERN)]
FieldText = Annotated[
    str, StringConstraints(max_length=FIELD_VALUE_MAX_CHARS), AfterValidator(_no_nul)
]
FieldValue = (
    StrictBool
    | Annotated[StrictInt, Field(ge=-_MAX_SAFE_INT, le=_MAX_SAFE_INT)]
    | Annotated[StrictFloat, AfterValidator(_finite)]
    | FieldText
)


class FanChanges(BaseModel):
    """What an edit changes on a fan; anything absent stays as it is. `tags` replaces the
    fan's tags; `add_tags` and `remove_tags` change only those named, so two operators
    tagging one fan at once both keep their tag. `custom_fields` merges: a field set to
    null is removed, one not named is kept."""

    model_config = ConfigDict(extra="forbid", strict=True)

    tags: Tags | None = Field(default=None, description="The fan's tags, replacing theirs.")
    add_tags: Tags = Field(default_factory=list, description="Tags to add to the fan's.")
    remove_tags: Tags = Field(default_factory=list, description="Tags to take off the fan.")
    notes: Notes | None = Field(default=None, description="The fan's notes, replacing theirs.")
    custom_fields: dict[FieldName, FieldValue | None] = Field(
        default_factory=dict,
        max_length=MAX_CUSTOM_FIELDS,
        description="Custom fields to set (null removes one); the others are kept.",
    )

    @model_validator(mode="after")
    def _one_way_per_tag(self) -> FanChanges:
        if self.tags is not None and (self.add_tags or self.remove_tags):
            raise ValueError("give tags, or add_tags and remove_tags, not both")
        both = sorted(set(self.add_tags) & set(self.remove_tags))
        if both:
            raise ValueError(f"tags both added and removed: {', '.join(both)}")
        return self

    @property
    def empty(self) -> bool:
        """Whether the edit changes nothing at all."""
        return (
            self.tags is None
            and not self.add_tags
            and not self.remove_tags
            and self.notes is None
            and not self.custom_fields
        )


class FanLimitExceeded(ValueError):
    """An edit would leave the fan holding more tags or custom fields than allowed; names
    which (`field`)."""

    def __init__(self, field: str, limit: int) -> None:
        super().__init__(f"a fan holds at most {limit} {field.replace('_', ' ')}")
        self.field = field


@dataclass(frozen=True)
class FanValues:
    """What operators write on a fan, as plain values."""

    tags: list[str]
    notes: str
    custom_fields: dict[str, CustomValue]


def apply_changes(values: FanValues, changes: FanChanges) -> tuple[FanValues, dict[str, Any]]:
    """`values` with `changes` applied, and what changed: the names of the fields, and the
    tags added and removed (empty when nothing did). `FanLimitExceeded` when the fan would
    hold too many tags or custom fields."""
    tags = list(dict.fromkeys(changes.tags if changes.tags is not None else values.tags))
    tags = [tag for tag in tags if tag not in changes.remove_tags]
    tags += [tag for tag in dict.fromkeys(changes.add_tags) if tag not in tags]
    custom = dict(values.custom_fields)
    for name, value in changes.custom_fields.items():
        if value is None:
            custom.pop(name, None)
        else:
            custom[name] = value
    if len(tags) > MAX_TAGS and len(tags) > len(values.tags):
        raise FanLimitExceeded("tags", MAX_TAGS)
    if len(custom) > MAX_CUSTOM_FIELDS and len(custom) > len(values.custom_fields):
        raise FanLimitExceeded("custom_fields", MAX_CUSTOM_FIELDS)
    notes = values.notes if changes.notes is None else changes.notes
    changed: dict[str, Any] = {}
    if tags != values.tags:
        changed["tags_added"] = sorted(set(tags) - set(values.tags))
        changed["tags_removed"] = sorted(set(values.tags) - set(tags))
    if notes != values.notes:
        changed["notes"] = True
    if custom != values.custom_fields:
        changed["custom_fields"] = sorted(
            name
            for name in set(custom) | set(values.custom_fields)
            if custom.get(name) != values.custom_fields.get(name)
        )
    return FanValues(tags, notes, custom), changed


def update_fan(session: Session, fan_id: int, changes: FanChanges, *, actor: str) -> Fan:
    """Apply `changes` to the fan and commit, audited with what changed (tag names and
    field names, never the notes' text). A fan erased at their request holds nothing new
    (`Conflict`)."""
    fan = get_or_raise(session, Fan, fan_id, for_update=True)
    if fan.erased_at is not None:
        raise Conflict(f"fan {fan_id} was erased at their request; nothing is kept about them")
    after, changed = apply_changes(
        FanValues(list(fan.tags), fan.notes, dict(fan.custom_fields)), changes
    )
    if changed:
        fan.tags, fan.notes, fan.custom_fields = after.tags, after.notes, after.custom_fields
        audit.record(session, actor, "fan.updated", "fan", fan.id, **changed)
    session.commit()
    return fan
